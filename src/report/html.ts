/** Job summary tables are HTML: cell text is escaped, code is <code>. */
export const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
export const code = (text: string) => `<code>${escapeHtml(text)}</code>`;
