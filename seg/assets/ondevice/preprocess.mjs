// The server's preprocessing and mask drawing, in the page: the same numbers, not look-alikes.
//
// Model input: the photo's RGB bytes resized to SxS the way the server does it (torch's
// antialiased bilinear on uint8, seg/data/pets.py resize_image, itself Pillow's algorithm with
// int16 fixed-point weights: horizontal pass, rounding to uint8, vertical pass), then / 255.
// A canvas's own resize would differ from it by a grey level on most pixels.
// Masks at display size: the logits upsampled bilinearly (half-pixel centres), then the argmax,
// as seg/serve/overlay.py upsample_logits does. Plain ES module: the page and Node's tests import it.

function triangle(x) {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

// Per output index: the first input index, how many follow, and int16 weights at `precision` bits.
export function resizeWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1; // bilinear's support (1) times the downscale factor
  const invscale = scale >= 1 ? 1 / scale : 1;
  const ksize = Math.ceil(support) * 2 + 1;
  const starts = new Int32Array(outSize), counts = new Int32Array(outSize);
  const real = new Float64Array(outSize * ksize);
  let wMax = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < count; j++) {
      const w = triangle((j + xmin - center + 0.5) * invscale);
      real[i * ksize + j] = w;
      total += w;
    }
    for (let j = 0; j < count; j++) {
      if (total !== 0) real[i * ksize + j] /= total;
      wMax = Math.max(wMax, real[i * ksize + j]);
    }
    starts[i] = xmin;
    counts[i] = count;
  }
  // As many fraction bits as keep the largest weight inside int16 (torch's rule, at most 22).
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Int32Array(outSize * ksize);
  for (let k = 0; k < real.length; k++) {
    const v = real[k] * 2 ** precision;
    weights[k] = Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
  }
  return { starts, counts, weights, ksize, precision };
}

function clip8(sum, precision) {
  const v = sum >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// One pass over RGB bytes: `lines` lines of `inLength` pixels each become lines of `outLength`.
// `pixelStep` / `lineStep` are the distances (in pixels) between neighbours along / across a line,
// the same in source and destination, which is what lets one function do rows and columns.
function pass(src, dst, lines, inLength, outLength, pixelStep, lineStep, outPixelStep, outLineStep) {
  const w = resizeWeights(inLength, outLength), half = 1 << (w.precision - 1);
  for (let line = 0; line < lines; line++) {
    for (let i = 0; i < outLength; i++) {
      let r = half, g = half, b = half;
      const k = i * w.ksize;
      for (let j = 0; j < w.counts[i]; j++) {
        const o = (line * lineStep + (w.starts[i] + j) * pixelStep) * 3, weight = w.weights[k + j];
        r += src[o] * weight;
        g += src[o + 1] * weight;
        b += src[o + 2] * weight;
      }
      const d = (line * outLineStep + i * outPixelStep) * 3;
      dst[d] = clip8(r, w.precision);
      dst[d + 1] = clip8(g, w.precision);
      dst[d + 2] = clip8(b, w.precision);
    }
  }
}

// RGBA (or RGB) bytes of a width x height image -> RGB bytes (HWC) of size x size.
export function resizeRGB(pixels, width, height, size, channels = 4) {
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < width * height; p++, q += channels) {
    rgb[p * 3] = pixels[q];
    rgb[p * 3 + 1] = pixels[q + 1];
    rgb[p * 3 + 2] = pixels[q + 2];
  }
  let rows = rgb;
  if (width !== size) { // horizontal first, as torch and Pillow do
    rows = new Uint8Array(height * size * 3);
    pass(rgb, rows, height, width, size, 1, width, 1, size);
  }
  if (height === size) return rows;
  const out = new Uint8Array(size * size * 3); // vertical: each column is a line
  pass(rows, out, size, height, size, size, 1, size, 1);
  return out;
}

// RGB bytes (HWC, size x size) -> the model's input: float32 1x3xSxS, RGB in [0, 1].
export function toInput(rgb, size) {
  const plane = size * size, input = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    input[p] = rgb[p * 3] / 255;
    input[plane + p] = rgb[p * 3 + 1] / 255;
    input[2 * plane + p] = rgb[p * 3 + 2] / 255;
  }
  return input;
}

// Logits C x h x w (flat) -> the class of each pixel at h x w.
export function argmax(logits, classes, height, width) {
  const plane = height * width, mask = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[c * plane + p] > logits[best * plane + p]) best = c;
    mask[p] = best;
  }
  return mask;
}

function taps(sizeIn, sizeOut) {
  const first = new Int32Array(sizeOut), second = new Int32Array(sizeOut), weight = new Float32Array(sizeOut);
  for (let i = 0; i < sizeOut; i++) {
    const source = Math.max((i + 0.5) * (sizeIn / sizeOut) - 0.5, 0);
    first[i] = Math.min(Math.trunc(source), sizeIn - 1);
    second[i] = Math.min(first[i] + 1, sizeIn - 1);
    weight[i] = source - first[i];
  }
  return { first, second, weight };
}

// Logits C x h x w -> the class mask at outW x outH (bilinear logits, then argmax).
export function upsampleArgmax(logits, classes, height, width, outW, outH) {
  const rows = taps(height, outH), cols = taps(width, outW), plane = height * width;
  const mask = new Uint8Array(outW * outH), score = new Float32Array(classes);
  for (let y = 0; y < outH; y++) {
    const t = rows.first[y] * width, b = rows.second[y] * width, dy = rows.weight[y];
    for (let x = 0; x < outW; x++) {
      const l = cols.first[x], r = cols.second[x], dx = cols.weight[x];
      let best = 0;
      for (let c = 0; c < classes; c++) {
        const o = c * plane;
        const top = logits[o + t + l] * (1 - dx) + logits[o + t + r] * dx;
        const bottom = logits[o + b + l] * (1 - dx) + logits[o + b + r] * dx;
        score[c] = top * (1 - dy) + bottom * dy;
        if (score[c] > score[best]) best = c;
      }
      mask[y * outW + x] = best;
    }
  }
  return mask;
}

// Paint each pixel of RGBA `pixels` in its class's colour at `opacity` (PIL's Image.blend).
export function blend(pixels, mask, colours, opacity) {
  for (let p = 0; p < mask.length; p++) {
    const colour = colours[mask[p]], o = p * 4;
    for (let c = 0; c < 3; c++) pixels[o + c] = Math.round(pixels[o + c] + opacity * (colour[c] - pixels[o + c]));
  }
  return pixels;
}
