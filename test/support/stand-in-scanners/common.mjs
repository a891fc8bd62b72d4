// Shared by the stand-in scanners (see README.md): the invocation log and copying a fixture to an output flag.
import { appendFileSync, copyFileSync } from "node:fs";

export function logInvocation(tool) {
  const file = process.env.STAND_IN_LOG;
  if (file)
    appendFileSync(file, `${JSON.stringify({ tool, args: process.argv.slice(2), cwd: process.cwd() })}\n`);
}

/** The value of `--name=value` or `--name value`. */
export function flag(name) {
  const args = process.argv.slice(2);
  for (let index = 0; index < args.length; index++) {
    if (args[index] === name) return args[index + 1];
    if (args[index].startsWith(`${name}=`)) return args[index].slice(name.length + 1);
  }
  return undefined;
}

export function copyFixture(variable, target) {
  const fixture = process.env[variable];
  if (fixture && target) copyFileSync(fixture, target);
}

export const exitCode = (variable) => Number(process.env[variable] ?? "0");
