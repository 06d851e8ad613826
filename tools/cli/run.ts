// `edgeq run model.edgeq image.jpg ...`: classify images.
import { readImage } from 'edgeq/decode';
import { Session } from 'edgeq/runtime';
import { readInput } from './index.js';

export async function runCommand(modelPath: string, images: string[], o: { top: number; backend: 'auto' | 'simd' | 'scalar'; json?: boolean }): Promise<void> {
  const session = await Session.create(readInput(modelPath, 'model'), { backend: o.backend });
  const results = [];
  try {
    for (const path of images) {
      const image = readImage(path);
      const t0 = performance.now();
      const top = await session.classify(image, { topK: o.top });
      const ms = performance.now() - t0;
      results.push({ image: path, ms, top });
      if (!o.json) {
        console.log(`${path} (${ms.toFixed(1)} ms, ${session.backend}):`);
        for (const c of top) console.log(`  ${(c.score * 100).toFixed(1).padStart(5)}%  ${c.label} [${c.index}]`);
      }
    }
  } finally {
    session.release();
  }
  if (o.json) console.log(JSON.stringify(results, null, 2));
}
