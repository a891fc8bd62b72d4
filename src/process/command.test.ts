import { describe, expect, it } from "vitest";
import { CommandNotFoundError, runCommand } from "./command.ts";

describe("command runner", () => {
  it("returns the exit code, standard output and the last lines of both streams", async () => {
    const lines: string[] = [];
    const result = await runCommand(
      "sh",
      ["-c", "for i in 1 2 3 4; do echo out$i; done; echo err >&2; exit 3"],
      {
        tailLines: 2,
        onLine: (line) => lines.push(line),
      },
    );
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe("out1\nout2\nout3\nout4\n");
    expect(lines.sort()).toEqual(["err", "out1", "out2", "out3", "out4"]);
    expect(result.tail).toHaveLength(2);
  });

  it("passes arguments as they are, without a shell", async () => {
    const result = await runCommand("printf", ["%s|", "a b", "$HOME", "; rm -rf /"]);
    expect(result.stdout).toBe("a b|$HOME|; rm -rf /|");
  });

  it("feeds standard input and keeps a last line without newline", async () => {
    const result = await runCommand("cat", [], { input: "secret-from-stdin" });
    expect(result.stdout).toBe("secret-from-stdin");
    expect(result.tail).toEqual(["secret-from-stdin"]);
  });

  it("says which program is missing", async () => {
    await expect(runCommand("no-such-builder-xyz", [])).rejects.toThrow(
      new CommandNotFoundError("no-such-builder-xyz"),
    );
  });
});
