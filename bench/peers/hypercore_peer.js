// One side of bench/hypercore_side_by_side.py: Hypercore cores written, served or read
// over a plain TCP socket on loopback (no Corestore, no Hyperswarm). Prints one JSON
// line per result.
//
//   node hypercore_peer.js write DIR CORES ENTRIES SIZE   -> {"keys": [...], "seconds": s}
//   node hypercore_peer.js serve DIR KEYS                 -> {"port": p}, serves until stdin ends
//   node hypercore_peer.js read DIR KEYS PORT TOTAL       -> {"seconds": s, "cpu": s, ...}
//
// KEYS is a comma-separated list of hex keys. The reader downloads every block of every
// core; Hypercore verifies each block against the signed Merkle tree as it arrives.
'use strict'

const net = require('net')
const path = require('path')
const crypto = require('crypto')
const Hypercore = require('hypercore')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function write (dir, cores, entries, size) {
  const started = process.hrtime.bigint()
  const keys = []
  const perCore = Math.floor(entries / cores)
  for (let i = 0; i < cores; i++) {
    const core = new Hypercore(path.join(dir, 'core-' + i))
    await core.ready()
    const count = perCore + (i < entries % cores ? 1 : 0)
    for (let n = 0; n < count; n += 2000) {
      const batch = []
      for (let j = n; j < Math.min(count, n + 2000); j++) batch.push(crypto.randomBytes(size))
      await core.append(batch)
    }
    keys.push(core.key.toString('hex'))
    await core.close()
  }
  emit({ keys, seconds: Number(process.hrtime.bigint() - started) / 1e9 })
}

async function open (dir, keys) {
  const cores = []
  for (let i = 0; i < keys.length; i++) {
    const core = new Hypercore(path.join(dir, 'core-' + i), Buffer.from(keys[i], 'hex'))
    await core.ready()
    cores.push(core)
  }
  return cores
}

function replicate (cores, isInitiator, socket) {
  const stream = cores[0].replicate(isInitiator)
  for (const core of cores.slice(1)) core.replicate(stream)
  socket.pipe(stream).pipe(socket)
  stream.on('error', () => socket.destroy())
  socket.on('error', () => stream.destroy())
  return stream
}

async function serve (dir, keys) {
  const cores = await open(dir, keys)
  const server = net.createServer((socket) => replicate(cores, false, socket))
  server.listen(0, '127.0.0.1', () => emit({ port: server.address().port }))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    server.close()
    for (const core of cores) await core.close()
    process.exit(0)
  })
}

async function read (dir, keys, port, total) {
  const cores = await open(dir, keys)
  const cpu0 = process.cpuUsage()
  const started = process.hrtime.bigint()
  const socket = net.connect(port, '127.0.0.1')
  const stream = replicate(cores, true, socket)
  let firstBlock = null
  for (const core of cores) {
    core.once('download', () => {
      if (firstBlock === null) firstBlock = Number(process.hrtime.bigint() - started) / 1e9
    })
  }
  await Promise.all(cores.map(async (core) => {
    await core.update({ wait: true })
    await core.download({ start: 0, end: core.length }).done()
  }))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  let held = 0
  for (const core of cores) held += core.contiguousLength
  emit({ seconds, cpu: (cpu.user + cpu.system) / 1e6, held, total, first_block: firstBlock })
  stream.destroy()
  socket.destroy()
  for (const core of cores) await core.close()
  process.exit(0)
}

async function main () {
  const [mode, dir, ...rest] = process.argv.slice(2)
  if (mode === 'write') return write(dir, +rest[0], +rest[1], +rest[2])
  if (mode === 'serve') return serve(dir, rest[0].split(','))
  if (mode === 'read') return read(dir, rest[0].split(','), +rest[1], +rest[2])
  throw new Error('usage: hypercore_peer.js write|serve|read ...')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
