import { useCallback, useEffect, useId, useState } from 'react'
import type { AuthorView, HashtagView, PageOptions } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { hrefFor } from '../routes.ts'
import { Avatar } from './common.tsx'
import { PostFeed } from './post-feed.tsx'

/** How long typing must pause before the search runs. */
const DEBOUNCE_MS = 250

/** Posts (full text), people (by name) and hashtags, as you type; posts page in as you scroll. */
export function SearchPage() {
  const client = useClient()
  const [text, setText] = useState('')
  const [query, setQuery] = useState('')
  const [people, setPeople] = useState<AuthorView[]>([])
  const [tags, setTags] = useState<HashtagView[]>([])
  const inputId = useId()

  useEffect(() => {
    const timer = setTimeout(() => setQuery(text.trim()), DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [text])

  useEffect(() => {
    if (query === '') {
      setPeople([])
      setTags([])
      return
    }
    let current = true
    const word = query.replace(/^#/, '')
    Promise.all([client.findPeople(query, { limit: 5 }), client.findHashtags(word, { limit: 8 })]).then(
      ([foundPeople, foundTags]) => {
        if (!current) return
        setPeople(foundPeople)
        setTags(foundTags)
      },
      () => undefined, // the posts' list below shows the error if the peer is unreachable
    )
    return () => {
      current = false
    }
  }, [client, query])

  const load = useCallback((options: PageOptions) => client.search(query, options), [client, query])
  return (
    <div className="page page-search">
      <h1 className="page-title">Search</h1>
      <form role="search" onSubmit={(event) => { event.preventDefault(); setQuery(text.trim()) }}>
        <label htmlFor={inputId}>Search posts, people and hashtags</label>
        <input id={inputId} type="search" value={text} autoFocus onChange={(event) => setText(event.target.value)} />
      </form>
      {people.length > 0 && (
        <section aria-label="People found">
          <h2>People</h2>
          <ul className="people">
            {people.map((person) => (
              <li key={person.id}>
                <a href={hrefFor({ page: 'profile', id: person.id })}>
                  <Avatar author={person} size={24} /> {person.name ?? person.id}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {tags.length > 0 && (
        <section aria-label="Hashtags found">
          <h2>Hashtags</h2>
          <ul className="tags">
            {tags.map(({ tag }) => (
              <li key={tag}>
                <a href={hrefFor({ page: 'tag', tag })}>#{tag}</a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {query !== '' && (
        <PostFeed key={query} load={load} label={`Posts matching ${query}`} empty={<p>No posts match “{query}”.</p>} />
      )}
    </div>
  )
}
