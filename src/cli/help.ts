/** What `tether help`, `tether --help` and `tether <command> --help` print, and the nearest-name hint. */

export interface CommandHelp {
  usage: string;
  about: string;
  flags?: string;
  example: string;
}

export const COMMANDS: Record<string, CommandHelp> = {
  run: {
    usage: "tether run <agent> [flags] -- <argv...>   (or --runner claude --prompt TEXT in place of -- <argv...>)",
    about:
      "Runs <argv...> on a host of <agent>. The job's stdout and stderr arrive on yours as it writes them, and\n" +
      "tether exits with the job's exit code (128+n when killed by signal n, 124 timed out, 130 cancelled,\n" +
      "127 could not start). While the run waits, a line on stderr says why (no host connected, no host with\n" +
      "its labels, its concurrency key full, awaiting approval). Ctrl-C cancels the job; a second leaves at once.\n" +
      "Every field of the submit (POST /v1/agents/:agent/runs) has a flag. TIME is seconds, or 500ms, 30s, 5m, 2h.",
    flags: `  -d, --detach                 print the run id and return at once
      --result                 when the run ends, print its result (the JSON the job wrote to TETHER_RESULT_PATH)
 the job:
  -e, --env K=V                an environment variable for the job (repeatable)
      --secret NAME            one of the agent's secrets, as the variable NAME (repeatable)
      --input N=V|N=@FILE      a named input, as TETHER_INPUT_<N>: V as JSON if it is JSON, else a string (repeatable)
      --stdin FILE|-           the job's stdin: a file (its bytes exactly), or - for tether's own stdin
  -i, --interactive            keep the job's stdin open and stream this terminal's stdin into it
  -l, --label K=V              a label on the run, for tether ls --label (repeatable)
      --timeout TIME           end the job after this long (then tether exits 124)
      --queue-timeout TIME     cancel the run if it is still waiting for a host after this long
      --attempts N             try at most N times in all (retries: --retry-on, --retry-delay TIME,
                               --retry-backoff fixed|exponential, --retry-max-delay TIME)
      --retry-on WHAT          which ends are retried: lost, failed, timed_out (commas, or repeat)
 which run goes next:
      --priority P             0-9, or low, normal (the default), high, urgent
      --lane NAME              runs of a lane run one at a time, in order
      --concurrency key=K[,limit=N][,strategy=S]
                               at most N runs of K at once; S: queue, cancel_in_progress, cancel_newest, round_robin
      --dedup-key KEY          one queued-or-running run per key; another submit is refused (exit 1) ...
      --on-duplicate error|return  ... or, with return, gets the live run
      --idempotency-key KEY    a repeat of the key returns the first run instead of making another
      --start-rate key=K,limit=N,window=TIME
                               at most N runs of K start in any window; the rest wait
      --debounce key=K,ms=MS   (or K=MS) the newest run of K replaces a waiting one, and is ready MS after submit
      --require K=V            a host label the run needs (repeatable; hosts: tether-agent --label K=V)
      --prefer K=V             a host label the run would rather have: of the free hosts, the one matching most gets it (repeatable)
      --detached-child         from inside a job: this child goes on when its parent is cancelled
 the claude runner, in place of -- <argv...>:
      --runner claude          run Claude Code with --prompt TEXT|@FILE|- (stdin)
      --model NAME, --max-turns N, --allowed-tool PATTERN (repeatable), --append-system-prompt TEXT`,
    example: `tether run local -- sh -c 'echo out; echo err >&2; exit 3'     # prints out and err, exits 3
  id=$(tether run local --detach -- sleep 5)                     # returns the run id at once
  tether run builder --require gpu=true --priority high --concurrency key=train,limit=2 -- ./train.sh`,
  },
  submit: {
    usage: "tether submit <agent> [FILE|-] [--key-prefix P] [--json]",
    about:
      "Submits many runs at once: FILE (or stdin, with - or no FILE) holds one JSON object a line, each the\n" +
      "body of a submit (argv, env, labels, priority, ... as POST /v1/agents/:agent/runs takes it); blank lines\n" +
      "and lines starting with # are skipped. Every line is checked first, so one bad line sends nothing\n" +
      "(exit 2). They go in order, 100 a call (fewer past 2 MiB), each run id printed on its own line;\n" +
      "a line refused (a duplicate, a full queue) is said on stderr with its number; tether exits 1 at the end.",
    flags: `      --key-prefix P           a line without an idempotency_key gets P:LINE: running the same file again
                               makes no run twice, and picks up where a failed run of it stopped
      --json                   one JSON line per job: {line, created, run} or {line, problem}`,
    example: `printf '%s\\n' '{"argv":["make","test"]}' '{"argv":["make","lint"],"priority":"high"}' | tether submit builder
  seq 1 500 | jq -c '{argv: ["./shard.sh", (. | tostring)]}' | tether submit builder - --key-prefix nightly-$(date +%F)`,
  },
  get: {
    usage: "tether get <run>",
    about: "Prints the run as JSON: its status, exit code or signal, error, and times.",
    example: "tether get \"$id\"",
  },
  logs: {
    usage: "tether logs <run> [-f]",
    about: "Prints the run's output: its stdout on stdout, its stderr on stderr.",
    flags: "  -f, --follow           keep printing as the job writes, until the run ends",
    example: "tether logs \"$id\" -f",
  },
  input: {
    usage: "tether input <run> [--eof] [data|-]",
    about:
      "Sends live input to a run submitted with stdin: {mode: \"pipe\"} (tether run -i): data, or - to send this\n" +
      "command's stdin; --eof closes the job's stdin after it. Prints delivered, queued or rejected (with why).",
    example: "tether input \"$id\" 'yes\n' && tether input \"$id\" --eof",
  },
  await: {
    usage: "tether await <run> [--json]",
    about:
      "Waits for a run to end and exits with its job's code, as tether run does (0 succeeded, the job's own code\n" +
      "when it failed, 130 cancelled, 124 timed out). Says the outcome on stderr; --json prints the run on stdout.",
    example: "id=$(tether run builder --detach -- make test) && tether await \"$id\"",
  },
  watch: {
    usage: "tether watch <run> [--json]",
    about:
      "Follows a run live: the job's output on stdout and stderr as it writes it, and its events and status\n" +
      "changes as lines on stderr; exits with the job's code when it ends. --json prints every event as a JSON line.",
    example: "tether watch \"$id\"",
  },
  completion: {
    usage: "tether completion bash|zsh|fish",
    about: "Prints a shell completion script for command names and common flags.",
    example: "source <(tether completion bash)    # fish: tether completion fish | source",
  },
  cancel: {
    usage: "tether cancel <run>",
    about: "Cancels the run: at once when queued, SIGTERM to its process group when running. A finished run is\nprinted as it is.",
    example: "tether cancel \"$id\"",
  },
  secrets: {
    usage: "tether secrets set <agent> <name> [value|-] | tether secrets ls <agent> | tether secrets rm <agent> <name>",
    about:
      "An agent's secrets, sealed at the edge and never shown again. set reads the value from stdin unless given\n" +
      "(keep it out of shell history); a run gets one with tether run --secret NAME, as the variable NAME, and its\n" +
      "value is replaced by [REDACTED] in the run's output.",
    example: "printf %s \"$DEPLOY_TOKEN\" | tether secrets set builder DEPLOY_TOKEN && tether run builder --secret DEPLOY_TOKEN -- ./deploy.sh",
  },
  approve: {
    usage: "tether approve <run> [--reason TEXT]",
    about:
      "Approves a run that waits as awaiting_approval because a host's policy did not allow it and its owner asks\n" +
      "(ask = \"on-miss\" or \"always\"): it goes to a host that takes approved runs. Needs the runs:approve scope.",
    example: "tether approve \"$id\" --reason 'one-off migration'",
  },
  deny: {
    usage: "tether deny <run> [--reason TEXT]",
    about: "Denies a run awaiting approval: it ends cancelled and never starts. Needs the runs:approve scope.",
    example: "tether deny \"$id\"",
  },
  ls: {
    usage: "tether ls [--agent NAME] [--status S]... [--label K=V]... [--schedule ID] [--parent RUN] [--since AGE|TIME] [--before TIME] [--q PREFIX] [--limit N] [--cursor C | --all] [--json]",
    about:
      "Lists the workspace's runs, newest first, from its index: every filter given must match (--status and\n" +
      "--label repeat, or take commas: --status failed,timed_out). A page holds --limit runs (default 50);\n" +
      "--all follows the cursor to the end.",
    flags: `  -a, --agent NAME       runs of one agent
  -s, --status S         queued, running, succeeded, failed, cancelled, timed_out, orphaned (repeatable)
  -l, --label K=V        runs with this label (repeatable; all must match)
      --since AGE|TIME   created after: 2h, 3d, or an ISO time
      --before TIME      created before an ISO time
      --q PREFIX         whose command line (argv joined by spaces) starts with PREFIX
      --json             the page as JSON, with next_cursor`,
    example: "tether ls --status failed --label pr=123 --since 1d",
  },
  status: {
    usage: "tether status <agent> [--json]",
    about:
      "How an agent is doing: its connected hosts (slots busy, last heard), its queue and why runs wait, what\n" +
      "runs now, the last 10 to end, counts by final status over the last hour and day, p50 wait and run time.",
    example: "tether status builder",
  },
  agents: {
    usage: "tether agents ls [--json] | tether agents create|get|delete <name>",
    about:
      "ls lists the workspace's agents with their queued and running counts; create makes an agent and prints\n" +
      "it with its enrollment token (what tether-agent enrolls with); get shows its hosts, free slots and counts;\n" +
      "delete removes it and cancels its waiting and running runs.",
    example: "tether agents create builder",
  },
  hosts: {
    usage: "tether hosts ls <agent> | tether hosts revoke <agent> <host>",
    about:
      "ls lists the hosts enrolled with an agent, connected or not; revoke disconnects one host, refuses its\n" +
      "credential from then on and retries what it was running. The agent's other hosts go on.",
    example: "tether hosts revoke builder laptop-3f2a1c",
  },
  schedules: {
    usage: "tether schedules create|ls|get|update|delete|trigger|preview|events ...",
    about: "Cron schedules that run a job on an agent. `tether schedules --help` has each subcommand.",
    example: "tether schedules create local --cron '0 3 * * *' --tz Europe/Berlin -- sh -c 'echo nightly'",
  },
  token: {
    usage: "tether token create <name> --scope SCOPE... [--ttl 90d | --service] | tether token ls | tether token revoke <id>",
    about: "Workspace tokens: made with scopes and an expiry (or as a long-lived service token), listed, revoked. `tether token --help` has the details.",
    example: "tether token create ci --scope runs:write --scope runs:read --ttl 90d",
  },
  keys: {
    usage: "tether keys new [FILE]",
    about: "Prints a signing key set for TETHER_SIGNING_KEYS: a new key first, then FILE's keys (to rotate).",
    example: "tether keys new keys.json > next.json",
  },
  help: {
    usage: "tether help [<command>]",
    about: "Says what tether or one of its commands does.",
    example: "tether help run",
  },
};

export const USAGE = `usage: tether <command> [flags] [-- <argv...>]

${Object.entries(COMMANDS)
  .map(([, c]) => `  ${c.usage}`)
  .join("\n")}
  tether --version

Each command has --help, with an example. Each that reads takes --json, for one JSON document on
stdout (get, cancel, approve, deny, input, hosts and agents get print JSON whatever is asked;
watch --json is a JSON line per event); tables and colour are for a terminal (NO_COLOR: none).
Connection: TETHER_URL and TETHER_TOKEN, or the .tether/local.json that \`npm start\` writes,
found in this directory or the nearest above it.
Exit codes: 0 done, 1 error (such as a control plane that cannot be reached), 2 usage, 4 not found;
\`tether run\` exits with its job's code once the job has run.`;

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return [`usage: ${c.usage}`, "", c.about, ...(c.flags ? ["", "flags:", c.flags] : []), "", "example:", `  ${c.example}`].join("\n");
}

/** The candidate nearest to what was typed, when it is near enough to be what was meant. */
export function closest(typed: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(typed) && typed.length >= 2 ? 0 : distance(typed, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.min(3, Math.floor(typed.length / 2))) ? best : undefined;
}

/** Levenshtein distance, with a swap of neighbours counting as one edit (the commonest typo). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
