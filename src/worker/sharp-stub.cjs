// Replaces the `sharp` image library in the worker bundle: transformers.js requires it at load time for image
// models, and Attention Lens only runs text models, so shipping its native binaries (~18 MB per platform) buys
// nothing. It must be truthy (transformers.js refuses to load without an image library); any use throws.
module.exports = function sharpUnavailable() {
  throw new Error('Attention Lens runs text models only: image processing is not included.');
};
