/**
 * Compiles a claude-code-mux (Rust `regex`) pattern as a JavaScript RegExp. Leading inline
 * flags such as `(?i)` become RegExp flags, since Node 20 has no inline modifiers.
 * Throws SyntaxError for a pattern that does not compile.
 */
export function compileRegex(source: string): RegExp {
  const m = /^\(\?([ims]+)\)/.exec(source);
  const flags = m ? [...new Set(m[1])].join("") : "";
  return new RegExp(m ? source.slice(m[0].length) : source, flags);
}
