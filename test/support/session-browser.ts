/**
 * A browser of a host app with its own sign-in: keeps the app's session cookie across requests.
 * `signIn(body)` posts to the app's `/sign-in`, which stands in for its login form.
 */
export function sessionBrowser(url: string) {
  let cookie = ''
  const send = async (method: string, path: string, body?: unknown) => {
    const json = body === undefined ? undefined : JSON.stringify(body)
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { cookie, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json,
    })
    const set = response.headers.getSetCookie().map((line) => line.split(';')[0])
    if (set.length > 0) cookie = set.join('; ')
    const type = response.headers.get('content-type') ?? ''
    return {
      status: response.status,
      headers: response.headers,
      body: (type.includes('json') ? await response.json() : undefined) as any,
    }
  }
  return { send, signIn: (body: unknown) => send('POST', '/sign-in', body) }
}
