const part = await (await import('./bench/durable.ts')).run()
for (const [l, v] of part.rows) console.log(l.padEnd(50), v)
console.log(JSON.stringify(part.results))
