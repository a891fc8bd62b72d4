import { InputError } from "../errors.ts";

export const revisionLabel = "org.opencontainers.image.revision";

export interface LabelContext {
  sha: string;
  /** The repository's web URL, e.g. https://github.com/valmetal/farm-platform. */
  sourceUrl: string;
  created: Date;
  title?: string;
}

/** The OCI annotations every image gets, then the user's labels (which may not change the revision). */
export function imageLabels(
  context: LabelContext,
  userLabels: Record<string, string> = {},
): Record<string, string> {
  if (revisionLabel in userLabels && userLabels[revisionLabel] !== context.sha) {
    throw new InputError(
      `label ${revisionLabel} is set by the action to the sha and cannot be overridden; remove it from labels`,
    );
  }
  return {
    "org.opencontainers.image.source": context.sourceUrl,
    "org.opencontainers.image.url": context.sourceUrl,
    "org.opencontainers.image.created": context.created.toISOString(),
    "org.opencontainers.image.version": context.sha,
    ...(context.title ? { "org.opencontainers.image.title": context.title } : {}),
    ...userLabels,
    [revisionLabel]: context.sha,
  };
}

/** Parses `KEY=value` lines (labels, build args). Blank lines and `#` comments are skipped. */
export function parseKeyValueLines(text: string, inputName: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const equals = line.indexOf("=");
    if (equals <= 0)
      throw new InputError(`${inputName} line '${line}' is not KEY=value; write one KEY=value per line`);
    entries[line.slice(0, equals).trim()] = line.slice(equals + 1);
  }
  return entries;
}
