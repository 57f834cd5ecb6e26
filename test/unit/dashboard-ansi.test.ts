/**
 * The dashboard's ANSI colour parser (src/ui/dashboard/ansi.ts), run in Node as the browser runs
 * it: SGR codes become class names, every escape sequence is taken out of the text, a sequence
 * cut between two chunks still applies, and the text itself is passed on as it is (the page
 * puts it in text nodes, so markup in output stays text).
 */
import { describe, expect, it } from "vitest";
import { ANSI_JS } from "../../src/ui/dashboard/ansi.js";

type State = Record<string, unknown>;
const { ansiState, ansiSegments, ansiSkip } = new Function(`${ANSI_JS}; return { ansiState, ansiSegments, ansiSkip };`)() as {
  ansiState(): State;
  ansiSegments(text: string, st: State): [string, string][];
  ansiSkip(text: string, st: State): void;
};

const E = "\x1b";

describe("ANSI colours in output", () => {
  it("passes plain text through as one segment", () => {
    expect(ansiSegments("hello\nworld", ansiState())).toEqual([["hello\nworld", ""]]);
  });

  it("maps foreground 30-37 and 90-97, bold and reset to classes", () => {
    const st = ansiState();
    expect(ansiSegments(`${E}[31mred${E}[0m plain ${E}[1;92mbright${E}[22m thin${E}[m end`, st)).toEqual([
      ["red", "a31"],
      [" plain ", ""],
      ["bright", "a92 ab"],
      [" thin", "a92"],
      [" end", ""],
    ]);
  });

  it("handles backgrounds, defaults, italic and underline, and skips 256 and true colour", () => {
    const st = ansiState();
    expect(ansiSegments(`${E}[44;3;4mx${E}[39;49;23;24my${E}[38;5;200mz${E}[38;2;1;2;3;33mw`, st)).toEqual([
      ["x", "a44 ai au"],
      ["y", ""],
      ["z", ""],
      ["w", "a33"],
    ]);
  });

  it("carries colour and a cut sequence from one chunk to the next", () => {
    const st = ansiState();
    expect(ansiSegments(`a${E}[3`, st)).toEqual([["a", ""]]);
    expect(ansiSegments(`2mgreen\n`, st)).toEqual([["green\n", "a32"]]);
    expect(ansiSegments(`still`, st)).toEqual([["still", "a32"]]);
    expect(ansiSegments(`${E}`, st)).toEqual([]);
    expect(ansiSegments(`[0mplain`, st)).toEqual([["plain", ""]]);
  });

  it("drops other escape sequences (cursor moves, erase, OSC titles)", () => {
    expect(ansiSegments(`${E}[2K${E}[1Gline${E}]0;title\x07 done${E}[?25l`, ansiState())).toEqual([
      ["line", ""],
      [" done", ""],
    ]);
  });

  it("keeps markup as text: it is never parsed as HTML", () => {
    expect(ansiSegments(`${E}[31m<img src=x onerror=alert(1)>&amp;`, ansiState())).toEqual([["<img src=x onerror=alert(1)>&amp;", "a31"]]);
  });

  it("applies the codes of output that is skipped, so what follows keeps its colour", () => {
    const st = ansiState();
    ansiSkip(`lots of output ${E}[1;35mstill magenta`, st);
    expect(ansiSegments("shown", st)).toEqual([["shown", "a35 ab"]]);
  });
});
