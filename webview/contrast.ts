// WCAG contrast: a shaded chip keeps its text readable (≥ 4.5:1) on light, dark and high-contrast themes.

/** An sRGB colour, channels 0–255. */
export type Rgb = [number, number, number];

/** Parses `rgb(r, g, b)` / `rgba(r, g, b, a)` as computed styles give them; undefined otherwise. */
export function parseRgb(css: string): Rgb | undefined {
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(css);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** `top` at opacity `alpha` over `base`. */
export function blend(top: Rgb, alpha: number, base: Rgb): Rgb {
  return [0, 1, 2].map((i) => top[i] * alpha + base[i] * (1 - alpha)) as Rgb;
}

/** WCAG relative luminance. */
export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours (1–21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The theme's text colour when it reads at 4.5:1 on `background`, else black or white, whichever reads better. */
export function readableText(theme: Rgb, background: Rgb): Rgb {
  if (contrast(theme, background) >= 4.5) return theme;
  return contrast([0, 0, 0], background) >= contrast([255, 255, 255], background) ? [0, 0, 0] : [255, 255, 255];
}
