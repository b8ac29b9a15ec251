// Reads a .tar or .tar.gz attachment in the browser (window.HezoTar), so the desk can show the text logs inside a
// device-logs archive inline. gzip through the browser's DecompressionStream; tar is 512-byte headers + data.
(() => {
  const MAX_TEXT_BYTES = 1024 * 1024;

  async function gunzip(blob) {
    const stream = blob.stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function field(bytes, start, length) {
    const raw = bytes.subarray(start, start + length);
    const end = raw.indexOf(0);
    return new TextDecoder().decode(end === -1 ? raw : raw.subarray(0, end));
  }

  /** [{name, size, text?}] of the regular files; text for files that decode as UTF-8 (first 1 MB). */
  function entries(bytes) {
    const out = [];
    let offset = 0;
    let longName = null;
    while (offset + 512 <= bytes.length) {
      const header = bytes.subarray(offset, offset + 512);
      if (header.every((b) => b === 0)) break;
      const prefix = field(bytes, offset + 345, 155);
      const name = longName ?? (prefix ? `${prefix}/` : '') + field(bytes, offset, 100);
      const size = Number.parseInt(field(bytes, offset + 124, 12).trim() || '0', 8);
      const type = String.fromCharCode(header[156] || 48);
      const data = bytes.subarray(offset + 512, offset + 512 + size);
      longName = null;
      if (type === 'L') longName = new TextDecoder().decode(data).replace(/\0.*$/s, '');
      else if (type === '0' || type === '\0') {
        let text = null;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(0, MAX_TEXT_BYTES));
        } catch {
          text = null;
        }
        out.push({ name, size, text });
      }
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    return out;
  }

  async function read(blob, fileName) {
    const bytes = /\.(tgz|gz)$/i.test(fileName) ? await gunzip(blob) : new Uint8Array(await blob.arrayBuffer());
    return entries(bytes);
  }

  window.HezoTar = { read };
})();
