import { useState, type FormEvent } from 'react';

/** Paste an API key: kept in this tab's sessionStorage only. */
export function SignIn(props: { onKey(key: string): void; error: string | null }) {
  const [key, setKey] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) props.onKey(key.trim());
  };
  return (
    <form className="sign-in" onSubmit={submit}>
      <h1>Marie control plane</h1>
      <label>
        API key
        <input
          name="apiKey"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="paste a key (npx marie apikey create …)"
        />
      </label>
      <button type="submit">Sign in</button>
      {props.error && (
        <p className="error" role="alert">
          {props.error}
        </p>
      )}
      <p className="hint">The key stays in this tab (sessionStorage) and is sent only to this server.</p>
    </form>
  );
}
