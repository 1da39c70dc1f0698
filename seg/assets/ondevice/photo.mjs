// A photo file or a camera frame, read as the server reads an upload (seg/serve/photos.py): upright,
// no colour management, transparency over white, limits checked before any pixel is decoded.
import { resizeRGB, toInput } from "./preprocess.mjs";

const DISPLAY_SIDE = 480; // overlays are drawn at most this wide

function imageSize(file) { // an <img> reads the header: refuse bombs before decoding any pixels
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file), img = new Image();
    img.onload = () => { URL.revokeObjectURL(url); resolve([img.naturalWidth, img.naturalHeight]); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error(notAnImage)); };
    img.src = url;
  });
}
const notAnImage = "This file is not an image the browser can decode. Please choose a JPEG, PNG, WebP or GIF.";

export async function decodePhoto(file, config) {
  const { max_pixels: maxPixels, max_side: maxSide } = config;
  const [width, height] = await imageSize(file);
  if (!width || !height) throw new Error("This image has no pixels (0×0). Please choose another.");
  if (width * height > maxPixels) {
    throw new Error(`The image has ${width}×${height} pixels (the limit is ${maxPixels / 1e6} megapixels). ` +
                    "Please choose a smaller image.");
  }
  // As the server reads a file: upright (EXIF), no colour management, at most max_side a side.
  const options = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };
  const scale = Math.min(1, maxSide / Math.max(width, height));
  if (scale < 1) Object.assign(options, { resizeWidth: Math.round(width * scale),
                                          resizeHeight: Math.round(height * scale), resizeQuality: "high" });
  let bitmap;
  try { bitmap = await createImageBitmap(file, options); } catch { throw new Error(notAnImage); }
  return frame(bitmap, bitmap.width, bitmap.height, config.input_size);
}

// Any drawable (bitmap, video) -> the model's input and the photo at display size.
export function frame(source, width, height, size) {
  const pixels = draw(source, width, height).getImageData(0, 0, width, height).data;
  const scale = Math.min(1, DISPLAY_SIDE / Math.max(width, height));
  const dw = Math.max(1, Math.round(width * scale)), dh = Math.max(1, Math.round(height * scale));
  const display = draw(source, dw, dh).getImageData(0, 0, dw, dh);
  return { width, height, display, input: toInput(resizeRGB(pixels, width, height, size), size) };
}

function draw(source, width, height) { // transparency over white, as the server flattens it
  const ctx = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(source, 0, 0, width, height);
  return ctx;
}
