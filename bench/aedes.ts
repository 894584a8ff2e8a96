import type { BenchPart } from './part.ts'

export async function run(): Promise<BenchPart> {
  throw new Error('not built yet')
}
