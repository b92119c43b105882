// Tokenizes sentences with the reference SentencePiece tokenizer of @energetic-ai/embeddings.
// Usage: node tokenize.js MODEL_DIR sentences.json > ids.json
const fs = require('fs');
const { EmbeddingsModel } = require('@energetic-ai/embeddings');
const vocab = JSON.parse(fs.readFileSync(process.argv[2] + '/vocab.json', 'utf8'));
const sentences = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const tok = new EmbeddingsModel({ vocabulary: vocab, model: null }).tokenizer;
process.stdout.write(JSON.stringify(sentences.map(s => tok.encode(s))) + '\n');
