// Predicts with ONNX Runtime (onnxruntime-node) on a .npy input and writes
// the result as .npy: the Node peer of `xfer predict -m M --input X.npy
// --output Y.npy` in bench/predict_process_vs_node.sh.
// Usage: node bench/ort_predict.js model.onnx x.npy y.npy [batch]
// (batch 0 or absent: the whole array in one run).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));

// readNpy parses a little-endian float32 C-order .npy (format 1.0 to 3.0).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shape) throw new Error(`${file}: bad .npy header ${header}`);
  if (descr[1] !== '<f4' || order[1] !== 'False') throw new Error(`${file}: want <f4 C-order, got ${descr[1]} fortran_order=${order[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  // Copy into an aligned buffer (the data offset need not be a multiple of 4).
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + 4 * n));
  return { dims, data };
}

function writeNpy(file, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [modelPath, inPath, outPath, batchArg] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node bench/ort_predict.js model.onnx x.npy y.npy [batch]');
  const x = readNpy(inPath);
  const session = await ort.InferenceSession.create(modelPath);
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const rows = x.dims[0];
  const per = x.data.length / rows;
  const batch = Number(batchArg || 0) || rows;
  const parts = [];
  let outDims = null;
  for (let lo = 0; lo < rows; lo += batch) {
    const hi = Math.min(rows, lo + batch);
    const t = new ort.Tensor('float32', x.data.subarray(lo * per, hi * per), [hi - lo, ...x.dims.slice(1)]);
    const res = await session.run({ [inName]: t });
    parts.push(res[outName].data);
    outDims = res[outName].dims;
  }
  const width = parts[0].length / Math.min(batch, rows);
  const y = new Float32Array(rows * width);
  let off = 0;
  for (const p of parts) {
    y.set(p, off);
    off += p.length;
  }
  writeNpy(outPath, [rows, ...outDims.slice(1)], y);
}

main().catch((err) => {
  console.error('ort_predict:', err.message);
  process.exit(1);
});
