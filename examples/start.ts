/**
 * `npm start`: what mqtt-webhook does, in ten seconds, with the real command's parts.
 *
 * 1. a webhook receiver on 127.0.0.1 that prints every body it gets (`mqtt-webhook receive`),
 * 2. an aedes broker with the webhook of examples/webhook.conf attached (`mqtt-webhook broker`),
 * 3. two mqtt.js clients that connect, subscribe, publish at QoS 0, 1 and 2 and a retained message,
 *    unsubscribe and disconnect, so that all twelve events fire,
 * then everything stops. Environment: MQTT_HOST (127.0.0.1), MQTT_PORT (1883), RECEIVER_PORT (a free one).
 */
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { startBroker } from '../src/cli/broker.ts'
import { startReceiver } from '../src/cli/receive.ts'
import { stopOnSignal } from '../src/cli/shutdown.ts'
import { formatStats } from '../src/cli/status.ts'
import { loadConfig } from '../src/index.ts'

const configPath = fileURLToPath(new URL('webhook.conf', import.meta.url))
const host = process.env.MQTT_HOST ?? '127.0.0.1'
const port = Number(process.env.MQTT_PORT ?? 1883)

let disconnects = 0
let onDisconnect = () => {}
const receiver = await startReceiver({
  port: Number(process.env.RECEIVER_PORT ?? 0),
  raw: true,
  print(line) {
    console.log(line.startsWith('  ') ? line : `\nreceiver got: ${line}`)
    if (line.startsWith('client_disconnected')) {
      disconnects++
      onDisconnect()
    }
  },
})
// The file is the one a user would pass to `mqtt-webhook broker --config`; only the url is pointed at our receiver.
const config = { ...loadConfig(configPath), url: `${receiver.url}hook` }
const broker = await startBroker({ config, host, port }).catch(async (error: Error) => {
  await receiver.close()
  console.error(`npm start: ${error.message}; try another port: MQTT_PORT=0 npm start`)
  process.exit(1)
})
console.log(`broker:   ${broker.url} (aedes, webhook from examples/webhook.conf)`)
console.log(`receiver: ${receiver.url}hook`)

const stop = async () => {
  await broker.close(5_000)
  await receiver.close()
  console.log(`\nwebhook: ${formatStats(broker.webhook.stats())}`)
}
stopOnSignal(undefined, async () => {
  await stop()
  return 0
})

console.log('\ndemo: a subscriber and a publisher connect')
const subscriber = await mqtt.connectAsync(broker.url, {
  clientId: 'demo-sub',
  username: 'demo',
  clean: true,
})
await subscriber.subscribeAsync('demo/#', { qos: 2 })
const publisher = await mqtt.connectAsync(broker.url, { clientId: 'demo-pub', username: 'demo', clean: true })

console.log('demo: publishing at QoS 0, 1 and 2, and a retained message')
const received = new Promise<void>((resolve) => {
  let count = 0
  subscriber.on('message', () => {
    if (++count === 4) resolve()
  })
})
await publisher.publishAsync('demo/temperature', '21.5', { qos: 0 })
await publisher.publishAsync('demo/humidity', '40', { qos: 1 })
await publisher.publishAsync('demo/door', 'open', { qos: 2 })
await publisher.publishAsync('demo/status', 'online', { qos: 1, retain: true })
await received

console.log('demo: unsubscribing and disconnecting')
await subscriber.unsubscribeAsync('demo/#')
const bothDisconnected = new Promise<void>((resolve) => {
  onDisconnect = () => {
    if (disconnects === 2) resolve()
  }
})
await publisher.endAsync()
await subscriber.endAsync()
await bothDisconnected

await stop()
console.log(
  '\nnext: npx mqtt-webhook broker --config examples/webhook.conf   (and: npx mqtt-webhook receive --raw)',
)
