// ort_run.js — runs one model on ONNX Runtime (npm onnxruntime-node) for the QDQ tests: one input
// read as raw little-endian bytes, every output written raw to OUT_PREFIX<k>.bin, and one JSON line
// of the outputs' types and dims on stdout.
// usage: node ort_run.js MODULE_DIR MODEL.onnx all|disabled INPUT_NAME DTYPE D0,D1,.. INPUT.bin OUT_PREFIX
const [moduleDir, model, level, inputName, dtype, dimsStr, inputBin, outPrefix] = process.argv.slice(2);
const ort = require(require('path').join(moduleDir, 'node_modules', 'onnxruntime-node'));
const fs = require('fs');

const arrays = {float32: Float32Array, uint8: Uint8Array, int8: Int8Array};

async function main() {
  const buf = fs.readFileSync(inputBin);
  const A = arrays[dtype];
  const data = new A(buf.buffer, buf.byteOffset, buf.length / A.BYTES_PER_ELEMENT);
  const dims = dimsStr.split(',').map(Number);
  const session = await ort.InferenceSession.create(model, {
    executionMode: 'sequential', graphOptimizationLevel: level, intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const res = await session.run({[inputName]: new ort.Tensor(dtype, data, dims)});
  const info = session.outputNames.map((n, k) => {
    const t = res[n];
    fs.writeFileSync(outPrefix + k + '.bin', Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return {name: n, type: t.type, dims: t.dims};
  });
  console.log(JSON.stringify(info));
}
main().catch((e) => { console.error(e); process.exit(1); });
