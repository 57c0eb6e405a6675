//! The page language the `lang` parameter chooses (managed login's localization): English, the
//! default and the fallback for a code devidp does not know, or French (AWS's code `fr`).

use crate::config::MessageMfa;
use crate::http::param;

/// A language the hosted-UI pages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    English,
    French,
}

impl Lang {
    /// The language `lang` in these (carried) authorize parameters names; English when it is
    /// missing or not one devidp has (managed login "defaults to English": fixtures/README.md).
    pub(crate) fn of(params: &[(String, String)]) -> Lang {
        match param(params, "lang") {
            Some("fr") => Lang::French,
            _ => Lang::English,
        }
    }

    /// The `<html lang>` value.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::English => "en",
            Lang::French => "fr",
        }
    }

    pub(crate) fn texts(self) -> &'static Texts {
        match self {
            Lang::English => &ENGLISH,
            Lang::French => &FRENCH,
        }
    }
}

/// The words of the sign-in and one-time-code pages in one language.
pub(crate) struct Texts {
    pub(crate) sign_in: &'static str,
    /// Before the client id in the sign-in page's subtitle ("to <client>").
    pub(crate) to: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) username: &'static str,
    pub(crate) email: &'static str,
    pub(crate) password: &'static str,
    pub(crate) forgot: &'static str,
    pub(crate) create_account: &'static str,
    pub(crate) other_actions: &'static str,
    pub(crate) passkeys_not_emulated: &'static str,
    pub(crate) enter_both: &'static str,
    pub(crate) incorrect: &'static str,
    pub(crate) mfa_title: &'static str,
    /// "We have delivered the authentication code by SMS to" (then the masked destination).
    pub(crate) code_sent_sms: &'static str,
    pub(crate) code_sent_email: &'static str,
    pub(crate) code_sent_end: &'static str,
    pub(crate) code: &'static str,
    /// Cognito's `CodeMismatchException` message for a wrong SMS or e-mail MFA code
    /// (aws-amplify/amplify-js#3066, #11069).
    pub(crate) invalid_code: &'static str,
    // The other pages' headings, labels, buttons and links (their error messages are
    // Cognito's API messages and stay as Cognito writes them).
    pub(crate) new_password_title: &'static str,
    pub(crate) new_password_sub: &'static str,
    pub(crate) new_password: &'static str,
    pub(crate) new_password_again: &'static str,
    pub(crate) send: &'static str,
    pub(crate) totp_sub: &'static str,
    pub(crate) signup_sub: &'static str,
    pub(crate) sign_up: &'static str,
    pub(crate) have_account: &'static str,
    pub(crate) confirm_title: &'static str,
    pub(crate) confirm_sub: &'static str,
    pub(crate) verification_code: &'static str,
    pub(crate) confirm_account: &'static str,
    pub(crate) forgot_sub: &'static str,
    pub(crate) email_or_username: &'static str,
    pub(crate) reset_my_password: &'static str,
    pub(crate) back_to_sign_in: &'static str,
    pub(crate) reset_title: &'static str,
    pub(crate) reset_sub: &'static str,
    pub(crate) forgot_page: &'static str,
    pub(crate) reset_page: &'static str,
}

impl Texts {
    pub(crate) fn code_sent(&self, channel: MessageMfa) -> &'static str {
        match channel {
            MessageMfa::Sms => self.code_sent_sms,
            MessageMfa::Email => self.code_sent_email,
        }
    }
}

const ENGLISH: Texts = Texts {
    sign_in: "Sign in",
    to: "to",
    provider: "Latchkey development provider",
    username: "Username",
    email: "Email",
    password: "Password",
    forgot: "Forgot your password?",
    create_account: "Create an account",
    other_actions: "Other actions",
    passkeys_not_emulated:
        "Passkeys are not emulated by this development provider: sign in with your password.",
    enter_both: "Please enter your username and password.",
    incorrect: "Incorrect username or password.",
    mfa_title: "Multi-factor authentication",
    code_sent_sms: "We have delivered the authentication code by SMS to",
    code_sent_email: "We have delivered the authentication code by email to",
    code_sent_end: "Please enter the code to complete authentication.",
    code: "Code",
    invalid_code: "Invalid code or auth state for the user.",
    new_password_title: "Change password",
    new_password_sub: "Please enter a new password.",
    new_password: "New password",
    new_password_again: "Enter new password again",
    send: "Send",
    totp_sub: "Enter the code from your authenticator app.",
    signup_sub: "Latchkey development provider · password: 8+ characters with upper and lower case, a digit and a symbol",
    sign_up: "Sign up",
    have_account: "Already have an account? Sign in",
    confirm_title: "Confirm your account",
    confirm_sub: "We would have e-mailed a code to",
    verification_code: "Verification code",
    confirm_account: "Confirm account",
    forgot_sub: "Enter your e-mail address (or username) and we will send you a code to reset your password.",
    email_or_username: "Email or username",
    reset_my_password: "Reset my password",
    back_to_sign_in: "Back to sign in",
    reset_title: "Reset your password",
    reset_sub: "We would have sent a code to the address of",
    forgot_page: "Forgot password",
    reset_page: "Reset password",
};

const FRENCH: Texts = Texts {
    sign_in: "Se connecter",
    to: "à",
    provider: "fournisseur de développement Latchkey",
    username: "Nom d'utilisateur",
    email: "Adresse e-mail",
    password: "Mot de passe",
    forgot: "Mot de passe oublié ?",
    create_account: "Créer un compte",
    other_actions: "Autres actions",
    passkeys_not_emulated: "Les clés d'accès ne sont pas émulées par ce fournisseur de \
                            développement : connectez-vous avec votre mot de passe.",
    enter_both: "Saisissez votre nom d'utilisateur et votre mot de passe.",
    incorrect: "Nom d'utilisateur ou mot de passe incorrect.",
    mfa_title: "Authentification multifacteur",
    code_sent_sms: "Nous avons envoyé le code d'authentification par SMS au",
    code_sent_email: "Nous avons envoyé le code d'authentification par e-mail à",
    code_sent_end: "Saisissez ce code pour terminer l'authentification.",
    code: "Code",
    invalid_code: "Code ou état d'authentification non valide pour l'utilisateur.",
    new_password_title: "Changer le mot de passe",
    new_password_sub: "Saisissez un nouveau mot de passe.",
    new_password: "Nouveau mot de passe",
    new_password_again: "Saisissez à nouveau le nouveau mot de passe",
    send: "Envoyer",
    totp_sub: "Saisissez le code de votre application d'authentification.",
    signup_sub: "fournisseur de développement Latchkey · mot de passe : 8 caractères ou plus, avec majuscules et minuscules, un chiffre et un symbole",
    sign_up: "S'inscrire",
    have_account: "Vous avez déjà un compte ? Se connecter",
    confirm_title: "Confirmez votre compte",
    confirm_sub: "Nous aurions envoyé un code par e-mail à",
    verification_code: "Code de vérification",
    confirm_account: "Confirmer le compte",
    forgot_sub: "Saisissez votre adresse e-mail (ou votre nom d'utilisateur) : nous vous enverrons un code pour réinitialiser votre mot de passe.",
    email_or_username: "Adresse e-mail ou nom d'utilisateur",
    reset_my_password: "Réinitialiser mon mot de passe",
    back_to_sign_in: "Retour à la connexion",
    reset_title: "Réinitialisez votre mot de passe",
    reset_sub: "Nous aurions envoyé un code à l'adresse de",
    forgot_page: "Mot de passe oublié",
    reset_page: "Réinitialiser le mot de passe",
};
