import { createHash } from "node:crypto";
import { globSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import { truthy } from "@actions/expressions/result";

/**
 * `${{ }}` evaluated by GitHub's own expression library (@actions/expressions, the one the runner and the VS Code
 * extension share), with the status functions (success, failure, always, cancelled) and hashFiles that the
 * library leaves to its host.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What the status functions see: the job's (or, in a job `if:`, its needs') state so far. */
export interface StatusScope {
  /** success(): no earlier step failed (job `if:`: every need succeeded). */
  success: boolean;
  /** failure(): an earlier step failed (job `if:`: a need failed). */
  failure: boolean;
  cancelled: boolean;
}

export interface ExpressionScope {
  contexts: Record<string, Json>;
  status?: StatusScope;
  /** Folder hashFiles() patterns are relative to (github.workspace). */
  workspace?: string;
}

const contextNames = [
  "github",
  "env",
  "vars",
  "secrets",
  "inputs",
  "needs",
  "jobs",
  "matrix",
  "strategy",
  "steps",
  "runner",
  "job",
];

export function toData(value: Json): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

export function fromData(value: data.ExpressionData): Json {
  return JSON.parse(JSON.stringify(value, data.replacer) ?? "null") as Json;
}

function hashFiles(workspace: string, patterns: string[]): string {
  const files = new Set<string>();
  for (const pattern of patterns)
    for (const file of globSync(pattern, { cwd: workspace }))
      if (statSync(join(workspace, file)).isFile()) files.add(file);
  if (files.size === 0) return "";
  const all = createHash("sha256");
  for (const file of [...files].sort())
    all.update(
      createHash("sha256")
        .update(readFileSync(join(workspace, file)))
        .digest(),
    );
  return all.digest("hex");
}

function hostFunctions(scope: ExpressionScope): Map<string, FunctionDefinition> {
  const status = scope.status ?? { success: true, failure: false, cancelled: false };
  const flag = (name: string, value: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) },
  ];
  return new Map([
    flag("success", () => status.success && !status.cancelled),
    flag("failure", () => status.failure),
    flag("always", () => true),
    flag("cancelled", () => status.cancelled),
    [
      "hashfiles",
      {
        name: "hashFiles",
        minArgs: 1,
        maxArgs: 255,
        call: (...args: data.ExpressionData[]) =>
          new data.StringData(
            hashFiles(
              scope.workspace ?? process.cwd(),
              args.map((arg) => arg.coerceString()),
            ),
          ),
      },
    ],
  ]);
}

/** Evaluates one expression (without the `${{ }}`). Throws an Error naming the expression when it does not parse. */
export function evaluateExpression(expression: string, scope: ExpressionScope): data.ExpressionData {
  const functions = hostFunctions(scope);
  const lexed = new Lexer(expression).lex();
  const parser = new Parser(
    lexed.tokens,
    contextNames,
    [...functions.values()].map(({ name, minArgs, maxArgs }) => ({ name, minArgs, maxArgs })),
  );
  let parsed: ReturnType<Parser["parse"]>;
  try {
    parsed = parser.parse();
  } catch (error) {
    throw new Error(`expression '${expression}' does not parse: ${(error as Error).message}`);
  }
  const context = new data.Dictionary(
    ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) })),
  );
  return new Evaluator(parsed, context, functions).evaluate();
}

/** Splits a template into literal text and `${{ expression }}` parts (quotes inside expressions respected). */
export function splitTemplate(template: string): Array<{ text: string } | { expression: string }> {
  const parts: Array<{ text: string } | { expression: string }> = [];
  let rest = template;
  for (;;) {
    const start = rest.indexOf("${{");
    if (start < 0) break;
    let index = start + 3;
    let quoted = false;
    for (; index < rest.length; index++) {
      if (rest[index] === "'") quoted = !quoted;
      else if (!quoted && rest.startsWith("}}", index)) break;
    }
    if (index >= rest.length) throw new Error(`unterminated \${{ in '${template}'`);
    if (start > 0) parts.push({ text: rest.slice(0, start) });
    parts.push({ expression: rest.slice(start + 3, index).trim() });
    rest = rest.slice(index + 2);
  }
  if (rest) parts.push({ text: rest });
  return parts;
}

/**
 * A value from the workflow file with its `${{ }}` replaced: a string that is one expression keeps the
 * expression's type (so `matrix: ${{ fromJSON(...) }}` is an object); mixed text is a string; objects and arrays
 * are walked.
 */
export function interpolate(value: unknown, scope: ExpressionScope): Json {
  if (typeof value === "string") {
    const parts = splitTemplate(value);
    if (parts.length === 1 && "expression" in (parts[0] as object))
      return fromData(evaluateExpression((parts[0] as { expression: string }).expression, scope));
    return parts
      .map((part) => ("text" in part ? part.text : evaluateExpression(part.expression, scope).coerceString()))
      .join("");
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, scope));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, scope)]));
  return (value ?? null) as Json;
}

/** A string as a workflow field holds it (`with:`, `env:`): booleans and numbers become their YAML text. */
export function interpolateString(value: unknown, scope: ExpressionScope): string {
  const result = interpolate(value, scope);
  if (result === null) return "";
  return typeof result === "object" ? JSON.stringify(result) : String(result);
}

const statusFunction = /\b(success|failure|always|cancelled)\s*\(/i;

/**
 * A job or step `if:` as the runner reads it: `${{ }}` optional; without a status function the condition is
 * `success() && (<condition>)`.
 */
export function evaluateCondition(condition: unknown, scope: ExpressionScope): boolean {
  if (condition === undefined || condition === null || condition === "")
    return evaluateCondition("success()", scope);
  if (typeof condition === "boolean") return condition && evaluateCondition("success()", scope);
  let text = String(condition).trim();
  const parts = splitTemplate(text);
  if (parts.length === 1 && "expression" in (parts[0] as object))
    text = (parts[0] as { expression: string }).expression;
  else if (parts.some((part) => "expression" in part))
    return interpolateString(text, scope) !== "" && evaluateCondition("success()", scope);
  const full = statusFunction.test(text) ? text : `success() && (${text})`;
  return truthy(evaluateExpression(full, scope));
}
