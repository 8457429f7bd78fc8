// A minimal source-map (v3) reader: generated (line, column) → original (source, line), so the
// CPU profile of the bundle names src/ files and lines.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VAL = new Map([...B64].map((c, i) => [c, i]));

interface Seg {
  col: number;
  src: number;
  line: number;
}

export class SourceMap {
  private lines: Seg[][] = [];
  constructor(private sources: string[], mappings: string) {
    let src = 0, line = 0;
    for (const lineText of mappings.split(";")) {
      const segs: Seg[] = [];
      let col = 0;
      for (const seg of lineText.split(",")) {
        if (!seg) continue;
        const v: number[] = [];
        let shift = 0, value = 0;
        for (const ch of seg) {
          const d = VAL.get(ch)!;
          value += (d & 31) << shift;
          if (d & 32) shift += 5;
          else {
            v.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        col += v[0];
        if (v.length >= 4) {
          src += v[1];
          line += v[2];
          segs.push({ col, src, line });
        }
      }
      this.lines.push(segs);
    }
  }

  static parse(json: string): SourceMap {
    const m = JSON.parse(json) as { sources: string[]; mappings: string };
    return new SourceMap(m.sources, m.mappings);
  }

  /** 0-based generated line and column → "source:line" (1-based line), or undefined. */
  lookup(line: number, col: number): { source: string; line: number } | undefined {
    const segs = this.lines[line];
    if (!segs?.length) return undefined;
    let best: Seg | undefined;
    for (const s of segs) {
      if (s.col <= col) best = s;
      else break;
    }
    best ??= segs[0];
    return { source: this.sources[best.src], line: best.line + 1 };
  }
}
