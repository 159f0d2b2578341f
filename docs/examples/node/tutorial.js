// Async AGI tutorial, Node.js: the seed scenario with the asterisk-manager package
// (docs/tutorial-async-agi.md).
//
//   npm ci --prefix docs/examples/node
//   node docs/examples/node/tutorial.js PORT [USER SECRET]
'use strict';
const AsteriskManager = require('asterisk-manager');

const [port, user = 'admin', secret = 'admin'] = process.argv.slice(2);
const ami = new AsteriskManager(Number(port), '127.0.0.1', user, secret, true);
ami.keepConnected();

// Waits for the first event matching pred (the library lower-cases header names).
function next(pred, ms = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ami.removeListener('managerevent', on); reject(new Error('timeout')); }, ms);
    function on(evt) {
      if (pred(evt)) { clearTimeout(timer); ami.removeListener('managerevent', on); resolve(evt); }
    }
    ami.on('managerevent', on);
  });
}

function action(a) {
  return new Promise((resolve, reject) => ami.action(a, (err, res) => (err ? reject(err) : resolve(res))));
}

async function main() {
  // 1. A caller arrives (here a Local channel into the dialplan's AGI(agi:async)).
  const started = next((e) => e.event === 'AsyncAGIStart');
  await action({ action: 'Originate', channel: 'Local/park@agi', application: 'Wait', data: '60', async: 'true' });
  const channel = (await started).channel;
  console.log('parked:', channel);

  const agi = async (command, commandid) => {
    const r = await action({ action: 'AGI', channel, command, commandid });
    if (r.response !== 'Success') throw new Error(JSON.stringify(r));
  };

  // 2. The welcome prompt, then music on hold until an agent is free.
  await agi('STREAM FILE tt-monkeys ""', 'prompt');
  await agi('EXEC MusicOnHold default,600', 'hold');
  await new Promise((r) => setTimeout(r, 1000));

  // 3. An agent is free: stop the prompt and drop the queued music in one action.
  const results = [next((e) => e.event === 'AsyncAGIExec' && e.commandid === 'prompt'),
    next((e) => e.event === 'AsyncAGIExec' && e.commandid === 'hold')];
  const r = await action({ action: 'AGIInterrupt', channel, flush: 'yes' });
  console.log('AGIInterrupt:', r.response);
  for (const e of await Promise.all(results)) {
    const how = e.interrupted === 'yes' ? 'interrupted' : `cancelled: ${e.cancelled}`;
    console.log(`${e.commandid}: ${decodeURIComponent(e.result).trim()} (${how})`);
  }

  // 4. Connect the caller to the agent.
  const dialed = next((e) => e.event === 'AsyncAGIExec' && e.commandid === 'dial', 30000);
  await agi('EXEC Dial Local/agent@agi,10,g', 'dial');
  console.log('dial:', decodeURIComponent((await dialed).result).trim());
  await action({ action: 'Hangup', channel });
  ami.disconnect();
}

main().catch((e) => { console.error(e); process.exit(1); });
