import * as ort from 'onnxruntime-node';
try { const s = await ort.InferenceSession.create('/work/main/test/fixtures/models/llama-tiny-external/onnx/model.onnx'); console.log('ok path'); } catch (e) { console.log('path FAIL', e.message.slice(0, 400)); }
