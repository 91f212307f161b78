import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key a client address is counted under: an IPv4 address as is, an IPv6 address by its first
 * `ipv6Prefix` bits (a /64 by default: one home or one server gets a whole /64, so counting
 * single addresses would let it rotate through 2^64 of them). An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports) counts as its IPv4 address.
 *
 * @example
 * clientKey('2001:db8:1:2:aaaa::1', 64) // '2001:db8:1:2:0:0:0:0/64'
 */
export function clientKey(address: string, ipv6Prefix: number): string {
  const bare = address.replace(/%.*$/, '')
  if (!isIPv6(bare)) return address
  const groups = ipv6Groups(bare)
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  const kept = groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - i * 16))
    return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff
  })
  return `${kept.map((group) => group.toString(16)).join(':')}/${ipv6Prefix}`
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and a dotted IPv4 tail read. */
function ipv6Groups(address: string): number[] {
  let text = address
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/)?.[1]
  if (dotted !== undefined && isIPv4(dotted)) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)))
  const front = parse(head)
  const back = tail === undefined ? [] : parse(tail)
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
}
