// Reading a printed PDF back, as a person would look at it: the text of a
// page, the page rendered to PNG, and the pictures placed on it (pdf.js,
// which renders with its optional canvas package in Node).
import { getDocument, OPS } from 'pdfjs-dist/legacy/build/pdf.mjs';

/**
 * Page `n` (1-based) of `bytes`: its text, the number of pages, a PNG of
 * the page, and each image drawn on it as {width, height, colours, share}
 * — the count of distinct colours and the share of pixels that differ from
 * the most common colour (a blank picture has one colour, share 0).
 */
export async function readPdf(bytes, n = 1) {
  const doc = await getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, verbosity: 0 }).promise;
  try {
    const page = await doc.getPage(n);
    const text = (await page.getTextContent()).items.map((i) => i.str).join(' ').replace(/\s+/g, ' ');
    const viewport = page.getViewport({ scale: 1.5 });
    const { canvas, context } = doc.canvasFactory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
    await page.render({ canvasContext: context, viewport, canvas }).promise;
    const png = canvas.toBuffer('image/png');
    const ops = await page.getOperatorList();
    const images = [];
    for (let i = 0; i < ops.fnArray.length; i += 1) {
      if (ops.fnArray[i] !== OPS.paintImageXObject) continue;
      const id = ops.argsArray[i][0];
      const img = await new Promise((resolve) => { page.objs.get(id, resolve); });
      if (img?.data) images.push(imageStats(img));
    }
    return { pages: doc.numPages, text, png, images };
  } finally {
    await doc.destroy();
  }
}

function imageStats({ width, height, data }) {
  const step = data.length / (width * height); // 3 (RGB) or 4 (RGBA)
  const counts = new Map();
  for (let p = 0; p < data.length; p += step) {
    const key = (data[p] << 16) | (data[p + 1] << 8) | data[p + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  return { width, height, colours: counts.size, share: 1 - top / (width * height) };
}
