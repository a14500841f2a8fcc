#!/usr/bin/env node
// Renders media/icon.svg to media/icon.png (128×128, the marketplace takes no SVG) with the Chromium the test
// harness uses. Run after changing the SVG; the PNG is committed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const media = join(dirname(fileURLToPath(import.meta.url)), '..', 'media');
const svg = readFileSync(join(media, 'icon.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
await page.setContent(
  `<html><body style="margin:0;background:transparent"><img src="${src}" width="128" height="128"></body></html>`,
);
await page.screenshot({ path: join(media, 'icon.png'), omitBackground: true });
await browser.close();
console.log('media/icon.png written');
