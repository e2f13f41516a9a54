// The app's settings that change how the running peer works (replication hops, LAN discovery):
// kept in the store's local state, read when a session starts and applied to it when changed.
import type { Peer } from '@hearsay/network'
import type { Store } from '@hearsay/store'

export interface AppSettings {
  /** Follow-graph distance replicated (0: only us and explicit feeds). */
  hops: number
  /** Announce us and dial peers heard of on the LAN. */
  lan: boolean
}

/** Further than this the follow graph reaches most of the network: no desktop holds that. */
export const MAX_HOPS = 4

const STATE = 'settings'
const KEY = 'app'

/** The settings saved in `store`, each one missing taken from `defaults`. */
export async function savedSettings(store: Store, defaults: AppSettings): Promise<AppSettings> {
  const saved = await store.localState<Partial<AppSettings>>(STATE).get(KEY)
  return {
    hops: isHops(saved?.hops) ? saved.hops : defaults.hops,
    lan: typeof saved?.lan === 'boolean' ? saved.lan : defaults.lan,
  }
}

function isHops(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_HOPS
}

/** A change as the client sent it, checked: a RangeError names what is wrong. */
export function settingsChange(value: unknown): Partial<AppSettings> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('settings changes must be an object {hops?, lan?}')
  const change: Partial<AppSettings> = {}
  for (const [key, field] of Object.entries(value)) {
    if (key === 'hops') {
      if (!isHops(field)) throw new RangeError(`hops must be a whole number from 0 to ${MAX_HOPS}, not ${JSON.stringify(field)?.slice(0, 40)}`)
      change.hops = field
    } else if (key === 'lan') {
      if (typeof field !== 'boolean') throw new RangeError(`lan must be true or false, not ${JSON.stringify(field)?.slice(0, 40)}`)
      change.lan = field
    } else {
      throw new RangeError(`there is no setting named ${JSON.stringify(key).slice(0, 40)}`)
    }
  }
  return change
}

interface Stoppable {
  stop(): Promise<void>
}

/**
 * One session's settings: applies changes to its peer (hops at once, LAN discovery started or
 * stopped) and saves them. `startLan` resolves null where LAN discovery cannot run (a loopback
 * address, no listening socket).
 */
export class SessionSettings {
  private lan: Stoppable | null = null
  private changing: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly peer: Peer,
    private settings: AppSettings,
    private readonly startLan: () => Promise<Stoppable | null>,
  ) {}

  get current(): AppSettings {
    return { ...this.settings }
  }

  /** Whether LAN discovery is running now (it may be on and still not run: see startLan). */
  get lanActive(): boolean {
    return this.lan !== null
  }

  /** Starts what the settings ask for; called once the peer listens. */
  async start(): Promise<void> {
    if (this.settings.lan) this.lan = await this.startLan()
  }

  /** Applies and saves `change`; changes run one at a time. */
  update(change: Partial<AppSettings>): Promise<AppSettings> {
    const run = this.changing.then(async () => {
      const next = { ...this.settings, ...change }
      await this.store.localState<AppSettings>(STATE).put(KEY, next)
      this.settings = next
      if (next.hops !== this.peer.hops) await this.peer.setHops(next.hops)
      if (next.lan && !this.lan) this.lan = await this.startLan()
      if (!next.lan && this.lan) {
        const lan = this.lan
        this.lan = null
        await lan.stop()
      }
      return this.current
    })
    this.changing = run.catch(() => undefined)
    return run
  }

  async stop(): Promise<void> {
    await this.changing
    const lan = this.lan
    this.lan = null
    await lan?.stop()
  }
}
