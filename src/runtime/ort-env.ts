// Evaluated before onnxruntime-node is imported (see ort.ts): ES modules run their imports in order.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
