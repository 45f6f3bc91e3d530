// console.js is the browser script, bundled into the worker as text (wrangler.toml `[[rules]] type = "Text"`).
declare const text: string;
export default text;
