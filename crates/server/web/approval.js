// A manager's approval at the cashier's terminal: the manager types their email and their
// password or PIN in a dialog, the server gives a single-use approval for that one action, and
// the cashier's request goes again with it (the `X-Approval` header). The cashier stays signed in.

import { $, h } from './dom.js';
import { api, errorOf, session } from './api.js';

export const isManager = () => ['admin', 'manager'].includes(session.me?.role);

// Asks for a manager's credentials; resolves the approval's id, or null when cancelled.
export function askApproval(action, why) {
  const dialog = $('#ask');
  const email = h('input', { id: 'approval-email', type: 'email', autocomplete: 'off', 'data-field': 'email' });
  const secret = h('input', { id: 'approval-secret', type: 'password', autocomplete: 'off', 'data-field': 'secret' });
  const error = h('div', { class: 'error', id: 'approval-error', role: 'alert' });
  const ok = h('button', { type: 'submit', class: 'primary', id: 'approval-ok' }, 'Approve');
  const cancel = h('button', { type: 'button', id: 'approval-cancel' }, 'Cancel');
  const form = h('form', { id: 'approval-form' },
    h('h3', {}, 'A manager approves'),
    h('p', { id: 'approval-why' }, why),
    h('label', { for: 'approval-email' }, "Manager's email"), email,
    h('label', { for: 'approval-secret' }, 'Password or PIN'), secret,
    error,
    h('div', { class: 'row' }, cancel, ok));
  dialog.replaceChildren(form);
  return new Promise((resolve) => {
    let answered = false;
    const done = (value) => { if (answered) return; answered = true; if (dialog.open) dialog.close(); resolve(value); };
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const typed = secret.value;
      const body = { action, email: email.value.trim() };
      // A PIN is 4 to 8 digits; anything else is a password.
      if (/^\d{4,8}$/.test(typed)) body.pin = typed; else body.password = typed;
      ok.disabled = true;
      try {
        const r = await api('POST', '/approvals', body);
        if (r.ok) return done(r.data.approval);
        error.textContent = errorOf(r).message;
        secret.value = '';
        secret.focus();
      } catch (e) {
        error.textContent = e.message;
      } finally {
        ok.disabled = false;
      }
    });
    cancel.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', () => done(null), { once: true });
    dialog.showModal();
    email.focus();
  });
}

// Sends a request that a manager may have to approve: `send(headers)` answers an api() result.
// A cashier refused with 403 is offered the approval prompt, and the request goes once more
// with the approval. Resolves the last answer (the refusal when nobody approved).
export async function withApproval(action, why, send) {
  const first = await send({});
  if (first.status !== 403 || isManager()) return first;
  const approval = await askApproval(action, `${why} ${errorOf(first).message}`);
  if (!approval) return first;
  return send({ 'x-approval': approval });
}
