/**
 * Run the Slack stand-in by itself for local development:
 *   npx tsx sim/slack/main.ts
 * then give the worker and `runwright slack serve` the printed settings. Calls are logged.
 */
import { startSlackSim } from './server';

async function main(): Promise<void> {
  const sim = await startSlackSim({ botToken: process.env.SLACK_BOT_TOKEN || 'xoxb-sim-token', appToken: process.env.SLACK_APP_TOKEN || 'xapp-sim-token' });
  let seen = 0;
  setInterval(() => {
    for (const c of sim.calls.slice(seen)) console.log(`${new Date(c.at).toISOString()} ${c.method} ${c.status} ${JSON.stringify(c.response).slice(0, 200)}`);
    seen = sim.calls.length;
  }, 500);
  console.log(`Slack stand-in on ${sim.apiUrl}\n  RUNWRIGHT_SLACK_API_URL=${sim.apiUrl}\n  SLACK_BOT_TOKEN=xoxb-sim-token  SLACK_APP_TOKEN=xapp-sim-token`);
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
