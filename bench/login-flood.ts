/**
 * The login storm's attackers, in a process of their own so that their load generator does not
 * stall the one measuring the cheap route. Reports autocannon's result to the parent.
 */
import autocannon from 'autocannon'
import { PASSWORD } from './constants.js'

const [url = '', seconds = '5', rate = '200'] = process.argv.slice(2)
const result = await autocannon({
  url,
  method: 'POST',
  connections: 100,
  overallRate: Number(rate),
  duration: Number(seconds),
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'storm@bench.test', password: PASSWORD }),
})
process.send!({
  ok: result['2xx'],
  refused: result['4xx'],
  p99: result.latency.p99,
  timeouts: result.timeouts,
  duration: result.duration,
})
