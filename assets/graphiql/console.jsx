// The gateway's GraphiQL. The page (src/http/console.rs) carries its settings as JSON in
// <script type="application/json" id="console-settings">: JSON is not run, so the page's
// Content-Security-Policy can forbid inline scripts. Nothing is loaded from anywhere but the
// gateway.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import './page.css';

const settings = JSON.parse(document.getElementById('console-settings').textContent);

async function fetcher(params, options) {
  const response = await fetch(settings.endpoint, {
    method: 'POST',
    headers: {
      accept: 'application/graphql-response+json, application/json',
      'content-type': 'application/json',
      ...(options && options.headers),
    },
    body: JSON.stringify(params),
  });
  return response.json();
}

// The demo opens one tab per demo token (its role's example and headers). Those tokens expire
// and change with every demo, so the demo's console keeps its tabs in memory only: tabs saved
// in the browser would win over the new ones and send yesterday's token.
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
    clear: () => items.clear(),
    get length() {
      return items.size;
    },
  };
}

const demo = settings.tabs.length > 0;
createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultTabs: demo ? settings.tabs : undefined,
    // The headers editor starts from this, not from the first tab's headers: without it the
    // first tab (and the schema's introspection, which sends the editor's headers) would go
    // without the token.
    headers: demo ? settings.tabs[0].headers : undefined,
    defaultEditorToolsVisibility: demo ? 'headers' : true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    storage: demo ? memoryStorage() : undefined,
    inputValueDeprecation: true,
  }),
);
