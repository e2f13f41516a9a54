// The colour theme: the system's, or light or dark whatever the system says. A choice of this
// window's person, so it lives in the renderer's localStorage, not on the peer.
import { useCallback, useState } from 'react'

export type Theme = 'system' | 'light' | 'dark'
export const THEMES: readonly Theme[] = ['system', 'light', 'dark']
const STORAGE_KEY = 'hearsay.theme'

function isTheme(value: unknown): value is Theme {
  return THEMES.includes(value as Theme)
}

export function storedTheme(): Theme {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY)
    return isTheme(value) ? value : 'system'
  } catch {
    return 'system' // storage refused (a locked-down browser): the system's theme
  }
}

/** Sets `data-theme` on <html>, which styles.css reads; `system` removes it. */
export function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme
  else document.documentElement.dataset.theme = theme
}

export function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setThemeState] = useState(storedTheme)
  const setTheme = useCallback((next: Theme) => {
    try {
      window.localStorage.setItem(STORAGE_KEY, next)
    } catch {
      // Not kept past this window, but applied.
    }
    applyTheme(next)
    setThemeState(next)
  }, [])
  return [theme, setTheme]
}
