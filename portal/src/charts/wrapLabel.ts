/**
 * Splits a category name (a model id such as
 * "anthropic/claude-3.5-sonnet-20241022") into lines of at most `width`
 * characters, breaking after "/" or before "-" where it can and inside a word
 * only when it must, so the whole name is shown: nothing is cut off.
 */
export function wrapLabel(name: string, width = 24): string[] {
  const parts = name.split(/(?<=\/)|(?=-)/); // keep "/" at a line's end, "-" at a line's start
  const lines: string[] = [];
  let line = "";
  for (let p of parts) {
    while (p.length > width) {
      if (line) lines.push(line);
      line = "";
      lines.push(p.slice(0, width));
      p = p.slice(width);
    }
    if (line.length + p.length > width) {
      lines.push(line);
      line = p;
    } else line += p;
  }
  if (line) lines.push(line);
  return lines;
}
