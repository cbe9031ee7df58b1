/**
 * The one module that picks the platform: Node here. A browser build maps this file to ./browser.ts
 * (a bundler alias; test/host/browser-bundle.test.ts bundles the core that way).
 */
export { nodeHost as host } from './node.ts';
