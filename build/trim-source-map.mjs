/**
 * The agent's source map without the packages' code: the process keeps its source map in memory for its whole life
 * (`--enable-source-maps`: ~1.3 MB of mappings and 13,000 names, 85 % of them for node_modules). Stack frames in
 * the repo's own sources keep their original file, line and name; a frame inside a bundled package shows its
 * position in dist/agent.js (a range of package code is mapped to nothing, never to the code before it).
 */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

/** One segment's fields (VLQ, relative as in the map). */
function decodeSegment(text) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = B64_VALUE.get(c);
    if (digit === undefined) throw new Error(`source map: bad VLQ character ${JSON.stringify(c)}`);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

function encodeVlq(n) {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    out += B64[digit];
  } while (v > 0);
  return out;
}

/** `map` (version 3, no sections) keeping only the segments whose source `keep(source)` accepts. */
export function trimSourceMap(map, keep) {
  const sourceIndex = new Map();
  const sources = [];
  const names = [];
  const nameIndex = new Map();
  // absolute values while decoding, and the last ones written while encoding
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  let name = 0;
  let outSrc = 0;
  let outLine = 0;
  let outCol = 0;
  let outName = 0;
  /** Whether the last segment written maps to a kept source (a lookup past it would land there). */
  let isMapped = false;
  const lines = map.mappings.split(';').map((line) => {
    let genCol = 0;
    let outGenCol = 0;
    const out = [];
    for (const text of line ? line.split(',') : []) {
      const f = decodeSegment(text);
      genCol += f[0];
      let kept = false;
      if (f.length >= 4) {
        src += f[1];
        srcLine += f[2];
        srcCol += f[3];
        if (f.length >= 5) name += f[4];
        const source = map.sources[src];
        if (keep(source)) {
          kept = true;
          let s = sourceIndex.get(src);
          if (s === undefined) {
            s = sources.push(source) - 1;
            sourceIndex.set(src, s);
          }
          let seg = encodeVlq(genCol - outGenCol) + encodeVlq(s - outSrc) + encodeVlq(srcLine - outLine);
          seg += encodeVlq(srcCol - outCol);
          if (f.length >= 5) {
            let n = nameIndex.get(name);
            if (n === undefined) {
              n = names.push(map.names[name]) - 1;
              nameIndex.set(name, n);
            }
            seg += encodeVlq(n - outName);
            outName = n;
          }
          out.push(seg);
          outSrc = s;
          outLine = srcLine;
          outCol = srcCol;
        }
      }
      if (!kept && isMapped) out.push(encodeVlq(genCol - outGenCol)); // from here: no source
      if (kept || isMapped) outGenCol = genCol;
      isMapped = kept;
    }
    return out.join(',');
  });
  return { version: 3, sources, names, mappings: lines.join(';') };
}
