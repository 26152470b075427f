import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { createApi } from './api/endpoints.js';
import { HttpClient } from './api/http.js';
import { realtimeUrl } from './api/realtime.js';
import { SessionStore } from './api/session.js';
import { ConsoleApp, createQueryClient } from './app.js';
import './styles.css';

const session = new SessionStore(window.sessionStorage);
const api = createApi(new HttpClient(session));
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BrowserRouter>
        <ConsoleApp
          services={{ api, session, realtimeUrl: realtimeUrl(window.location) }}
          queryClient={createQueryClient()}
        />
      </BrowserRouter>
    </StrictMode>,
  );
}
