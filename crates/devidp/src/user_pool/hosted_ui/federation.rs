//! Federated sign-in (`identity_provider=Google`, or `idp_identifier=`): the browser goes to a
//! stand-in for the external provider's page on this pool domain (there is no real Google
//! here), comes back through `/oauth2/idpresponse`, and gets what Cognito makes of such a
//! user: username `{provider}_{id}` in lower case, the `identities` claim, the `{pool}_{provider}` group.

use super::layout::{accept_post, Csrf};
use super::layout::{error_html, escape, layout, Form};
use super::{signed_in, validate_authorize, AuthorizeRequest};
use crate::http::{encode_query, param, Incoming, Reply};
use crate::provider::{mask, Provider};
use crate::user_pool::store::{FederatedLogin, Identity, User};

/// How long the code from the external provider's page works.
const IDP_CODE_TTL_SECS: i64 = 300;

/// From `/oauth2/authorize`: on to the external provider's (stand-in) page.
pub(super) fn redirect_to_external_idp(
    p: &Provider,
    provider: &str,
    request: &AuthorizeRequest,
) -> Reply {
    p.log(format!("authorize: federated sign-in with {provider}"));
    Reply::redirect(&format!(
        "{}/external-idp/{provider}?{}",
        p.settings.base_url,
        encode_query(&request.params)
    ))
}

fn known_provider<'a>(p: &'a Provider, name: &str) -> Option<&'a crate::config::FederatedIdp> {
    p.settings
        .identity_providers
        .iter()
        .find(|i| i.name == name)
}

/// `GET /external-idp/{provider}`: who are you at the provider?
pub(crate) fn external_idp_page(p: &Provider, req: &Incoming, provider: &str) -> Reply {
    if known_provider(p, provider).is_none() {
        return Reply::html(404, error_html("invalid_request"));
    }
    let request = match validate_authorize(p, &req.query) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let csrf = Csrf::for_page(req);
    // A Google account id looks like this: 21 digits.
    let suggested = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..21)
            .map(|i| char::from(b'0' + rng.gen_range(u8::from(i == 0)..10)))
            .collect::<String>()
    };
    csrf.html(
        200,
        external_idp_html(provider, &csrf.form(&request.params), &suggested),
    )
}

/// `POST /external-idp/{provider}`: the provider "signs the person in" and sends the browser
/// back to the pool's `/oauth2/idpresponse` with a code, as a real one would.
pub(crate) fn external_idp_submit(p: &Provider, req: &Incoming, provider: &str) -> Reply {
    if known_provider(p, provider).is_none() {
        return Reply::html(404, error_html("invalid_request"));
    }
    let posted = match accept_post(p, req) {
        Ok(posted) => posted,
        Err(reply) => return reply,
    };
    let user_id = param(&posted.form, "user_id")
        .unwrap_or("")
        .trim()
        .to_string();
    let email = param(&posted.form, "email")
        .unwrap_or("")
        .trim()
        .to_string();
    if user_id.is_empty() || !user_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let page = posted.csrf.form(&posted.request.params);
        return Reply::html(400, external_idp_html(provider, &page, ""));
    }
    let code = crate::user_pool::store::random_token(24);
    let state = crate::user_pool::store::random_token(24);
    p.store().idp_codes.insert(
        code.clone(),
        FederatedLogin {
            provider: provider.to_string(),
            user_id,
            email,
            name: param(&posted.form, "name").unwrap_or("").trim().to_string(),
            params: posted.request.params.clone(),
            state: state.clone(),
            expires_at: p.now() + IDP_CODE_TTL_SECS,
        },
    );
    Reply::redirect(&format!(
        "{}/oauth2/idpresponse?{}",
        p.settings.base_url,
        encode_query(&[("code".to_string(), code), ("state".to_string(), state)])
    ))
}

/// `GET /oauth2/idpresponse`: the provider's answer. Finds or creates the federated user and
/// finishes the sign-in the app started.
pub(crate) fn idp_response(p: &Provider, req: &Incoming) -> Reply {
    let code = param(&req.query, "code").unwrap_or("");
    let state = param(&req.query, "state").unwrap_or("");
    let login = p.store().idp_codes.remove(code);
    let Some(login) = login.filter(|l| l.state == state && l.expires_at > p.now()) else {
        p.log(format!(
            "idpresponse: unknown, used or expired code {}",
            mask(code)
        ));
        return Reply::html(400, error_html("invalid_request"));
    };
    let request = match validate_authorize(p, &login.params) {
        Ok(r) => r,
        Err(rejection) => return rejection.reply(p),
    };
    let Some(idp) = known_provider(p, &login.provider) else {
        return Reply::html(400, error_html("invalid_request"));
    };
    let username = User::federated_username(&idp.name, &login.user_id);
    let created = {
        let mut store = p.store();
        if store.user(&username).is_none() {
            let identity = Identity {
                user_id: login.user_id.clone(),
                provider_name: idp.name.clone(),
                provider_type: idp.provider_type.clone(),
                issuer: None,
                primary: "true".to_string(),
                date_created: (p.now() * 1000).to_string(),
            };
            let group = format!("{}_{}", p.settings.user_pool_id, idp.name);
            store.add_user(User::federated(identity, &login.email, &login.name, group));
            true
        } else {
            false
        }
    };
    if created {
        p.persist();
    }
    p.log(format!(
        "idpresponse: {} signed in through {} ({})",
        username,
        idp.name,
        if created {
            "new user"
        } else {
            "returning user"
        }
    ));
    signed_in(p, &request, &username, &[])
}

/// The stand-in for an external identity provider's sign-in page (Google's, say).
fn external_idp_html(provider: &str, form: &Form<'_>, suggested_id: &str) -> String {
    let body = format!(
        "<h1 id=\"title\">Sign in with {provider}</h1>\
         <p class=\"sub\">A stand-in for {provider}'s own page: the Latchkey development provider \
         federates with no real provider. Say who you are at {provider}; you then come back \
         through <code>/oauth2/idpresponse</code> as you would from the real one.</p>\
         <form method=\"post\" action=\"{action}\" id=\"external-idp-form\">{hidden}\
         <label for=\"user-id\">{provider} user id</label>\
         <input id=\"user-id\" name=\"user_id\" type=\"text\" required value=\"{id}\">\
         <label for=\"email\">Email</label>\
         <input id=\"email\" name=\"email\" type=\"email\" required>\
         <label for=\"name\">Name</label>\
         <input id=\"name\" name=\"name\" type=\"text\">\
         <button id=\"continue\" type=\"submit\">Continue</button></form>",
        provider = escape(provider),
        action = form.action(&format!("/external-idp/{provider}")),
        hidden = form.hidden_inputs(&[]),
        id = escape(suggested_id),
    );
    layout(&format!("Sign in with {provider}"), &body)
}
