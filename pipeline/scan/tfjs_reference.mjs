// Runs a TF.js graph model with TensorFlow.js itself (its pure-JavaScript CPU backend, no native
// binary), so tests can compare clockweb's torch interpreter (tfjs_graph.py) with the original.
//
//   node tfjs_reference.mjs MODULES MODEL_JSON INPUT_BIN SHAPE OUT_DIR
//
// MODULES is a folder whose node_modules holds @tensorflow/tfjs (installed there with
// `npm install --prefix MODULES`); INPUT_BIN is float32 little-endian, SHAPE like 1,3,416,416.
// Writes OUT_DIR/outputs.json ({"Identity:0": {"shape": [...], "file": "output_0.bin"}, ...})
// and the outputs, float32 little-endian, beside it.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const [modules, modelJson, inputBin, shapeText, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node tfjs_reference.mjs MODULES MODEL_JSON INPUT_BIN SHAPE OUT_DIR");
  process.exit(2);
}
const tf = createRequire(join(modules, "package.json"))("@tensorflow/tfjs");
await tf.setBackend("cpu");
await tf.ready();

const model = JSON.parse(readFileSync(modelJson, "utf8"));
const weightSpecs = [];
const shards = [];
for (const group of model.weightsManifest) {
  weightSpecs.push(...group.weights);
  for (const path of group.paths) shards.push(readFileSync(join(dirname(modelJson), path)));
}
const weights = Buffer.concat(shards);
const graph = await tf.loadGraphModel(
  tf.io.fromMemory({
    modelTopology: model.modelTopology,
    format: model.format,
    signature: model.signature,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }),
);

const shape = shapeText.split(",").map(Number);
const raw = readFileSync(inputBin);
const input = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), shape, "float32");
const names = Object.keys(model.signature.outputs);
const inputName = Object.keys(model.signature.inputs)[0].split(":")[0];
const results = graph.execute({ [inputName]: input }, names);
const manifest = {};
for (const [index, name] of names.entries()) {
  const tensor = results[index];
  const file = `output_${index}.bin`;
  writeFileSync(join(outDir, file), Buffer.from((await tensor.data()).buffer));
  manifest[name] = { shape: tensor.shape, file };
}
writeFileSync(join(outDir, "outputs.json"), JSON.stringify(manifest));
