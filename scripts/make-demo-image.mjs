// Draws assets/demo.png, the image of the README's first command (the project's own picture, so the
// package needs no outside data): a house on a hill under a sun, rendered from SVG by sharp.
// Usage: node scripts/make-demo-image.mjs   (rewrites assets/demo.png; the file is committed)
import sharp from 'sharp';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="#3b7dd8"/><stop offset="1" stop-color="#bfe3ff"/></linearGradient></defs>
  <rect width="640" height="480" fill="url(#sky)"/>
  <circle cx="520" cy="95" r="48" fill="#ffd84a"/>
  <ellipse cx="320" cy="520" rx="520" ry="200" fill="#4caf50"/>
  <rect x="230" y="250" width="180" height="130" fill="#f3e2c7" stroke="#6d4c41" stroke-width="4"/>
  <polygon points="215,252 320,170 425,252" fill="#c62828" stroke="#6d4c41" stroke-width="4"/>
  <rect x="300" y="310" width="40" height="70" fill="#6d4c41"/>
  <rect x="250" y="280" width="36" height="32" fill="#90caf9" stroke="#6d4c41" stroke-width="3"/>
  <rect x="354" y="280" width="36" height="32" fill="#90caf9" stroke="#6d4c41" stroke-width="3"/>
  <rect x="90" y="300" width="18" height="70" fill="#795548"/>
  <circle cx="99" cy="285" r="42" fill="#2e7d32"/>
</svg>`;

await sharp(Buffer.from(svg)).png({ compressionLevel: 9, palette: true }).toFile(new URL('../assets/demo.png', import.meta.url).pathname);
