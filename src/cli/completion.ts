/**
 * tether completion bash|zsh|fish: a script that completes command names (from the same table
 * `tether help` prints, so a new command is completed without touching this), the flags that
 * every command takes, and tether run's own. Source it: `source <(tether completion bash)`.
 */
import { UsageError } from "./flags.js";
import { COMMANDS } from "./help.js";
import { RUN_OPTIONS } from "./run-flags.js";

export function completionScript(shell: string | undefined): string {
  const names = [...new Set([...Object.keys(COMMANDS), "completion"])].sort();
  const words = names.join(" ");
  // tether run's flags, from the table it parses with: one per field of the submit.
  const runFlags = Object.keys(RUN_OPTIONS).map((f) => `--${f}`).join(" ");
  switch (shell) {
    case "bash":
      return `# tether completion for bash: source <(tether completion bash)
_tether() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${words} --help --version" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = completion ]; then
    COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = run ] && [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${runFlags}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "--help --json" -- "$cur") )
  fi
}
complete -o default -F _tether tether
`;
    case "zsh":
      return `#compdef tether
# tether completion for zsh: source <(tether completion zsh)
_tether() {
  if (( CURRENT == 2 )); then
    compadd -- ${words} --help --version
  elif [[ \${words[2]} == completion ]]; then
    compadd -- bash zsh fish
  elif [[ \${words[2]} == run && \${words[CURRENT]} == -* ]]; then
    compadd -- ${runFlags}
  else
    _files
  fi
}
compdef _tether tether
`;
    case "fish":
      return `# tether completion for fish: tether completion fish | source
complete -c tether -f -n __fish_use_subcommand -a "${words}"
complete -c tether -f -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"
complete -c tether -l help -s h -d "usage and an example"
complete -c tether -l json -d "machine-readable output"
${Object.keys(RUN_OPTIONS).map((f) => `complete -c tether -n "__fish_seen_subcommand_from run" -l ${f}`).join("\n")}
`;
    default:
      throw new UsageError(`tether completion takes bash, zsh or fish${shell ? `, not ${shell}` : ""}`, "completion");
  }
}
