import { useCallback, useEffect, useRef, useState } from 'react'

export interface Loaded<Value> {
  value: Value | undefined
  error: Error | null
  loading: boolean
  reload(): void
  /** Replace the value locally (after an action whose result we already know). */
  set(update: (value: Value | undefined) => Value | undefined): void
}

/** Runs `load` when `keys` change (and on reload), dropping answers from superseded runs. */
export function useLoaded<Value>(load: () => Promise<Value>, keys: unknown[]): Loaded<Value> {
  const [value, setValue] = useState<Value | undefined>(undefined)
  const [error, setError] = useState<Error | null>(null)
  const [loading, setLoading] = useState(true)
  const [round, setRound] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => {
    let current = true
    setLoading(true)
    setError(null)
    loadRef.current().then(
      (next) => {
        if (!current) return
        setValue(next)
        setLoading(false)
      },
      (err: Error) => {
        if (!current) return
        setError(err)
        setLoading(false)
      },
    )
    return () => {
      current = false
    }
  }, [...keys, round])

  const reload = useCallback(() => setRound((n) => n + 1), [])
  return { value, error, loading, reload, set: setValue }
}

export interface Action {
  busy: boolean
  /** The last run's failure, to show beside the control that started it. */
  error: Error | null
  setError(error: Error | null): void
  /** Runs `action`: busy meanwhile, its failure kept in `error` (never thrown). */
  run(action: () => Promise<unknown>): Promise<void>
}

/** The state of something a person started (a save, a follow…): busy while it runs, then its error if any. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<Error | null>(null)
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true)
    setError(null)
    try {
      await action()
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }, [])
  return { busy, error, setError, run }
}

/**
 * Reads a live source for as long as the component is mounted (and `keys` stay the same);
 * `onItem` always sees the latest props.
 */
export function useLive<Item>(open: () => { close(): void } & AsyncIterable<Item>, onItem: (item: Item) => void, keys: unknown[]): void {
  const onItemRef = useRef(onItem)
  onItemRef.current = onItem
  const openRef = useRef(open)
  openRef.current = open
  useEffect(() => {
    const subscription = openRef.current()
    void (async () => {
      try {
        for await (const item of subscription) onItemRef.current(item)
      } catch {
        // The stream ends with the connection; the connection banner says so and pages reload.
      }
    })()
    return () => subscription.close()
  }, keys)
}
