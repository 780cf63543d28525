// ort_steps.js — runs a stateful model for several steps on ONNX Runtime (npm onnxruntime-node),
// carrying its state itself: each step feeds that step's inputs from raw little-endian files and
// the state inputs from the previous step's outputs (the first step from the given files). Every
// output of step s is written raw to OUT_PREFIX<s>_<k>.bin; one JSON line on stdout gives the
// outputs' names, types and dims.
// usage: node ort_steps.js MODULE_DIR MODEL.onnx SPEC.json OUT_PREFIX
// SPEC: {"steps": N,
//        "feed":  [{"name", "dtype", "dims", "files": [one per step]}],
//        "state": [{"name", "from": OUTPUT_NAME, "dtype", "dims", "file": FIRST_STEP_FILE}]}
const [moduleDir, model, specPath, outPrefix] = process.argv.slice(2);
const ort = require(require('path').join(moduleDir, 'node_modules', 'onnxruntime-node'));
const fs = require('fs');

const arrays = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array};

function tensor(dtype, dims, file) {
  const buf = fs.readFileSync(file);
  const A = arrays[dtype];
  // A copy: the file buffer's offset need not be aligned for the typed array.
  const data = new A(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return new ort.Tensor(dtype, data, dims);
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  // No graph rewrites: the reference is the model as written, one thread.
  const session = await ort.InferenceSession.create(model, {
    executionMode: 'sequential', graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const state = {};
  for (const s of spec.state) state[s.name] = tensor(s.dtype, s.dims, s.file);
  let info = [];
  for (let step = 0; step < spec.steps; step++) {
    const feeds = {};
    for (const f of spec.feed) feeds[f.name] = tensor(f.dtype, f.dims, f.files[step]);
    for (const s of spec.state) feeds[s.name] = state[s.name];
    const res = await session.run(feeds);
    info = session.outputNames.map((n, k) => {
      const t = res[n];
      fs.writeFileSync(outPrefix + step + '_' + k + '.bin',
                       Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      return {name: n, type: t.type, dims: t.dims};
    });
    for (const s of spec.state) state[s.name] = res[s.from];
  }
  console.log(JSON.stringify(info));
}
main().catch((e) => { console.error(e); process.exit(1); });
