// Export PNG: the matrix as drawn (axis labels included) on the theme's background, with the model, view and source
// above it and the colour scale below, so the picture stands alone.
import { VIRIDIS_LUT } from './color-scale';

/** CSS pixels above (title) and below (colour scale) the matrix in an exported PNG. */
export const EXPORT_HEADER = 24;
export const EXPORT_FOOTER = 22;

/** The PNG data URL of `canvas` with `title` above it and the colour scale below. */
export function matrixPng(canvas: HTMLCanvasElement, title: string): string {
  const dpr = canvas.width / Math.max(1, canvas.getBoundingClientRect().width || canvas.width);
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height + Math.round((EXPORT_HEADER + EXPORT_FOOTER) * dpr);
  const ctx = out.getContext('2d')!;
  const style = getComputedStyle(document.body);
  ctx.fillStyle = style.backgroundColor || '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.scale(dpr, dpr);
  ctx.fillStyle = style.color || '#000';
  ctx.font = `12px ${style.fontFamily || 'sans-serif'}`;
  ctx.fillText(title, 4, 16);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(canvas, 0, Math.round(EXPORT_HEADER * dpr));
  ctx.scale(dpr, dpr);
  const y = canvas.height / dpr + EXPORT_HEADER + 6;
  for (let x = 0; x < 120; x++) {
    const k = Math.round((x / 119) * 255) * 3;
    ctx.fillStyle = `rgb(${VIRIDIS_LUT[k]},${VIRIDIS_LUT[k + 1]},${VIRIDIS_LUT[k + 2]})`;
    ctx.fillRect(34 + x, y, 1, 10);
  }
  ctx.fillStyle = style.color || '#000';
  ctx.font = `11px ${style.fontFamily || 'sans-serif'}`;
  ctx.fillText('low', 4, y + 9);
  ctx.fillText('high (relative to the matrix maximum) · grey = masked, hidden or below Keep', 160, y + 9);
  return out.toDataURL('image/png');
}
