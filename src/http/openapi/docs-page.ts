import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { HttpResponse } from '../http-types.js'

/**
 * The page's Content-Security-Policy: everything from this origin only, no inline script, no
 * eval, nothing framed; `data:` images for Swagger UI's inline icons. Works offline.
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const HEADERS = {
  'content-security-policy': DOCS_CSP,
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
  'referrer-policy': 'no-referrer',
}

// Relative paths: the page works wherever the router is mounted (`/docs`, `/api/docs`).
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<link rel="stylesheet" href="./docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="./docs/swagger-ui-bundle.js"></script>
<script src="./docs/init.js"></script>
</body>
</html>
`

// A file of its own, not an inline script, so the CSP can forbid inline scripts altogether.
const INIT = `window.ui = SwaggerUIBundle({ url: new URL('./openapi.json', document.baseURI).href, dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null })\n`

/**
 * `GET /docs`: Swagger UI 5 over the router's own `/openapi.json`, served from the
 * `swagger-ui-dist` package (an optional peer dependency: install it to turn the page on), with
 * a strict CSP and no request leaving the host. Returns the answers by path.
 */
export function docsPage(): Map<string, HttpResponse> {
  let dist: string
  try {
    dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  } catch {
    throw new TypeError('tenantry: the docs page needs the swagger-ui-dist package: npm install swagger-ui-dist@5')
  }
  const asset = (file: string, type: string): HttpResponse => ({
    status: 200,
    headers: { ...HEADERS, 'content-type': type },
    body: readFileSync(join(dist, file), 'utf8'),
  })
  return new Map([
    ['/docs', { status: 200, headers: { ...HEADERS, 'content-type': 'text/html; charset=utf-8' }, body: PAGE }],
    ['/docs/swagger-ui.css', asset('swagger-ui.css', 'text/css; charset=utf-8')],
    ['/docs/swagger-ui-bundle.js', asset('swagger-ui-bundle.js', 'text/javascript; charset=utf-8')],
    [
      '/docs/init.js',
      { status: 200, headers: { ...HEADERS, 'content-type': 'text/javascript; charset=utf-8' }, body: INIT },
    ],
  ])
}
