/**
 * Parses the Make rules that `gcc -M` and `clang -M` write (`target: dep dep \` …), undoing their
 * escaping, so goma reads the compiler's own list of inputs.
 *
 * Spec: gcc libcpp/mkdeps.cc (`munge`), clang lib/Frontend/DependencyFile.cpp (`PrintFilename`, Make
 * format): a space or '#' is preceded by a backslash (and backslashes right before it are doubled),
 * '$' is written "$$", a backslash-newline continues the line.
 */

/** One rule: its targets and prerequisites, unescaped, in order. */
export interface MakeRule {
  targets: string[];
  deps: string[];
}

const isBlank = (c: string | undefined) => c === " " || c === "\t";
const isEol = (text: string, i: number) => text[i] === "\n" || (text[i] === "\r" && text[i + 1] === "\n");
/** True when position `i` ends a word: a blank, a line end, a continuation, or the end of text. */
const endsWord = (text: string, i: number) =>
  i >= text.length || isBlank(text[i]) || isEol(text, i) || (text[i] === "\\" && isEol(text, i + 1));

/**
 * Parses Make dependency rules.
 *
 * @param text the contents of a `-M`/`-MD` dep file.
 * @returns the rules in order; words before the first unescaped `:` that ends a word are targets, the
 *   rest of the logical line are deps. Lines without a `:` and `#` comments are skipped.
 * @example
 * parseMakeDeps("a.o: a.c my\\ dir/a.h \\\n  /usr/include/stdio.h\n")
 * // [{ targets: ["a.o"], deps: ["a.c", "my dir/a.h", "/usr/include/stdio.h"] }]
 */
export function parseMakeDeps(text: string): MakeRule[] {
  const rules: MakeRule[] = [];
  let words: string[] = [];
  let targets: string[] | undefined;
  let word = "";
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endLine = () => {
    endWord();
    if (targets !== undefined) rules.push({ targets, deps: words });
    words = [];
    targets = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      let n = 1;
      while (text[i + n] === "\\") n++;
      const next = text[i + n];
      if (next === "\n" || (next === "\r" && text[i + n + 1] === "\n")) {
        word += "\\".repeat(n - 1); // the last backslash continues the line
        endWord();
        i += n + (next === "\r" ? 1 : 0);
      } else if (isBlank(next) || next === "#") {
        word += "\\".repeat(Math.floor(n / 2));
        inWord = true;
        if (n % 2 === 1) {
          word += next; // escaped: part of the name
          i += n;
        } else {
          i += n - 1; // the blank or '#' is seen again as itself
        }
      } else {
        word += "\\".repeat(n);
        inWord = true;
        i += n - 1;
      }
    } else if (c === "\n" || (c === "\r" && text[i + 1] === "\n")) {
      if (c === "\r") i++;
      endLine();
    } else if (isBlank(c)) {
      endWord();
    } else if (c === "#" && !inWord) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (c === "$" && text[i + 1] === "$") {
      word += "$";
      inWord = true;
      i++;
    } else if (c === ":" && targets === undefined && endsWord(text, i + 1)) {
      endWord();
      targets = words;
      words = [];
    } else {
      word += c;
      inWord = true;
    }
  }
  endLine();
  return rules;
}

/**
 * Every prerequisite of every rule, in first-seen order, without duplicates.
 * @example depsOf(parseMakeDeps("a.o: a.c a.h\nb.o: a.h b.c\n")) // ["a.c", "a.h", "b.c"]
 */
export function depsOf(rules: readonly MakeRule[]): string[] {
  return [...new Set(rules.flatMap((r) => r.deps))];
}
