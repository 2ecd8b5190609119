//! Explicit Runge–Kutta methods as data (Butcher tableaux).

// Coefficients are typed in with the digits their sources publish.
#![allow(clippy::excessive_precision)]

use std::fmt;
use std::str::FromStr;

/// How a method estimates its local error.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorEstimator {
    /// No estimate: fixed step only.
    None,
    /// One embedded formula: `err = h * sum_i e_i k_i` with `e = b - b_hat`.
    Embedded {
        /// Error weights `b - b_hat`, one per stage.
        e: Vec<f64>,
    },
    /// Hairer's DOP853 estimate, blending a 5th-order and a 3rd-order
    /// embedded formula: `err = E5^2 / sqrt(E5^2 + 0.01 E3^2)` in the
    /// weighted RMS norm.
    Dop853 {
        /// Weights of the 3rd-order estimate.
        e3: Vec<f64>,
        /// Weights of the 5th-order estimate.
        e5: Vec<f64>,
    },
}

/// How a method interpolates inside an accepted step (dense output).
#[derive(Debug, Clone, PartialEq)]
pub enum DenseOutput {
    /// No interpolant.
    None,
    /// `y(t + θh) = y + h Σ_i k_i Σ_m p[i][m] θ^(m+1)`, one row per stage.
    Polynomial {
        /// Coefficients `p[stage][power - 1]`.
        p: Vec<Vec<f64>>,
    },
    /// Hairer's 7th-order DOP853 interpolant: three extra stages (`c`, `a`
    /// rows over all previous stages) and the coefficient rows `d` of the
    /// four highest-order terms.
    Dop853 {
        /// Nodes of the extra stages.
        c: Vec<f64>,
        /// Coupling rows of the extra stages (over the main and earlier extra stages).
        a: Vec<Vec<f64>>,
        /// `d[m][stage]`, m = 0..4.
        d: Vec<Vec<f64>>,
    },
}

/// An explicit Runge–Kutta method: nodes `c`, strictly lower-triangular
/// coupling `a`, weights `b`, an optional error estimator and an optional
/// interpolant.
///
/// For FSAL methods (`fsal == true`) the last stage sits at `c = 1` with
/// `a[last] == b[..last]`, so it evaluates the right-hand side at the new
/// state and is reused as the first stage of the next step.
#[derive(Debug, Clone, PartialEq)]
pub struct Tableau {
    pub(crate) name: &'static str,
    pub(crate) order: usize,
    /// Order used in the step-size controller's exponent `1 / (q + 1)`.
    pub(crate) controller_order: usize,
    pub(crate) dense_order: usize,
    pub(crate) c: Vec<f64>,
    pub(crate) a: Vec<Vec<f64>>,
    pub(crate) b: Vec<f64>,
    pub(crate) error: ErrorEstimator,
    pub(crate) fsal: bool,
    pub(crate) dense: DenseOutput,
}

impl Tableau {
    /// Forward Euler, order 1.
    pub fn euler() -> Self {
        Tableau {
            name: "euler",
            order: 1,
            controller_order: 0,
            dense_order: 0,
            c: vec![0.0],
            a: vec![vec![]],
            b: vec![1.0],
            error: ErrorEstimator::None,
            fsal: false,
            dense: DenseOutput::None,
        }
    }

    /// Explicit midpoint rule, order 2.
    pub fn midpoint() -> Self {
        Tableau {
            name: "midpoint",
            order: 2,
            controller_order: 0,
            dense_order: 0,
            c: vec![0.0, 0.5],
            a: vec![vec![], vec![0.5]],
            b: vec![0.0, 1.0],
            error: ErrorEstimator::None,
            fsal: false,
            dense: DenseOutput::None,
        }
    }

    /// The classical 4-stage Runge–Kutta method, order 4.
    pub fn rk4() -> Self {
        Tableau {
            name: "rk4",
            order: 4,
            controller_order: 0,
            dense_order: 0,
            c: vec![0.0, 0.5, 0.5, 1.0],
            a: vec![vec![], vec![0.5], vec![0.0, 0.5], vec![0.0, 0.0, 1.0]],
            b: vec![1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
            error: ErrorEstimator::None,
            fsal: false,
            dense: DenseOutput::None,
        }
    }

    /// Dormand–Prince 5(4) (Dormand & Prince 1980), FSAL, with Shampine's
    /// (1986) 4th-order continuous extension.
    pub fn dopri5() -> Self {
        let b = vec![
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
            0.0,
        ];
        Tableau {
            name: "dopri5",
            order: 5,
            controller_order: 4,
            dense_order: 4,
            c: vec![0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0],
            a: vec![
                vec![],
                vec![0.2],
                vec![3.0 / 40.0, 9.0 / 40.0],
                vec![44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
                vec![
                    19372.0 / 6561.0,
                    -25360.0 / 2187.0,
                    64448.0 / 6561.0,
                    -212.0 / 729.0,
                ],
                vec![
                    9017.0 / 3168.0,
                    -355.0 / 33.0,
                    46732.0 / 5247.0,
                    49.0 / 176.0,
                    -5103.0 / 18656.0,
                ],
                b[..6].to_vec(),
            ],
            b,
            error: ErrorEstimator::Embedded {
                e: vec![
                    -71.0 / 57600.0,
                    0.0,
                    71.0 / 16695.0,
                    -71.0 / 1920.0,
                    17253.0 / 339200.0,
                    -22.0 / 525.0,
                    1.0 / 40.0,
                ],
            },
            fsal: true,
            dense: DenseOutput::Polynomial {
                p: vec![
                    vec![
                        1.0,
                        -8048581381.0 / 2820520608.0,
                        8663915743.0 / 2820520608.0,
                        -12715105075.0 / 11282082432.0,
                    ],
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![
                        0.0,
                        131558114200.0 / 32700410799.0,
                        -68118460800.0 / 10900136933.0,
                        87487479700.0 / 32700410799.0,
                    ],
                    vec![
                        0.0,
                        -1754552775.0 / 470086768.0,
                        14199869525.0 / 1410260304.0,
                        -10690763975.0 / 1880347072.0,
                    ],
                    vec![
                        0.0,
                        127303824393.0 / 49829197408.0,
                        -318862633887.0 / 49829197408.0,
                        701980252875.0 / 199316789632.0,
                    ],
                    vec![
                        0.0,
                        -282668133.0 / 205662961.0,
                        2019193451.0 / 616988883.0,
                        -1453857185.0 / 822651844.0,
                    ],
                    vec![
                        0.0,
                        40617522.0 / 29380423.0,
                        -110615467.0 / 29380423.0,
                        69997945.0 / 29380423.0,
                    ],
                ],
            },
        }
    }

    /// Tsitouras 5(4) (Tsitouras 2011), FSAL, with its 4th-order
    /// interpolant. The solver torchdyn uses for neural ODEs.
    pub fn tsit5() -> Self {
        let c = vec![0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0];
        let b = vec![
            0.09646076681806523,
            0.01,
            0.4798896504144996,
            1.379008574103742,
            -3.290069515436081,
            2.324710524099774,
            0.0,
        ];
        // Couplings to stages 2.. as published; a[i][0] follows from c_i = Σ_j a_ij.
        let tail: Vec<Vec<f64>> = vec![
            vec![],
            vec![],
            vec![0.335480655492357],
            vec![-6.359448489975075, 4.3622954328695815],
            vec![
                -11.748883564062828,
                7.4955393428898365,
                -0.09249506636175525,
            ],
            vec![
                -12.92096931784711,
                8.159367898576159,
                -0.071584973281401,
                -0.028269050394068383,
            ],
        ];
        let mut a: Vec<Vec<f64>> = vec![vec![]];
        for i in 1..6 {
            let first = c[i] - tail[i].iter().sum::<f64>();
            let mut row = vec![first];
            row.extend_from_slice(&tail[i]);
            a.push(row);
        }
        a.push(b[..6].to_vec());
        Tableau {
            name: "tsit5",
            order: 5,
            controller_order: 4,
            dense_order: 4,
            c,
            a,
            b,
            error: ErrorEstimator::Embedded {
                e: vec![
                    -0.00178001105222577714,
                    -0.0008164344596567469,
                    0.007880878010261995,
                    -0.1447110071732629,
                    0.5823571654525552,
                    -0.45808210592918697,
                    1.0 / 66.0,
                ],
            },
            fsal: true,
            dense: DenseOutput::Polynomial {
                p: vec![
                    vec![
                        1.0,
                        -2.763706197274826,
                        2.9132554618219126,
                        -1.0530884977290216,
                    ],
                    vec![0.0, 0.13169999999999998, -0.2234, 0.1017],
                    vec![
                        0.0,
                        3.9302962368947516,
                        -5.941033872131505,
                        2.490627285651253,
                    ],
                    vec![
                        0.0,
                        -12.411077166933676,
                        30.33818863028232,
                        -16.548102889244902,
                    ],
                    vec![0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
                    vec![
                        0.0,
                        -27.896526289197286,
                        65.09189467479366,
                        -34.87065786149660,
                    ],
                    vec![0.0, 1.5, -4.0, 2.5],
                ],
            },
        }
    }

    /// Hairer's DOP853: Dormand–Prince 8(5,3), 12 stages plus the FSAL
    /// stage, with the 7th-order dense output (three extra stages).
    pub fn dop853() -> Self {
        let c = vec![
            0.0,
            0.526001519587677318785587544488e-01,
            0.789002279381515978178381316732e-01,
            0.118350341907227396726757197510,
            0.281649658092772603273242802490,
            0.333333333333333333333333333333,
            0.25,
            0.307692307692307692307692307692,
            0.651282051282051282051282051282,
            0.6,
            0.857142857142857142857142857142,
            1.0,
            1.0,
        ];
        let b = vec![
            5.42937341165687622380535766363e-2,
            0.0,
            0.0,
            0.0,
            0.0,
            4.45031289275240888144113950566,
            1.89151789931450038304281599044,
            -5.8012039600105847814672114227,
            3.1116436695781989440891606237e-1,
            -1.52160949662516078556178806805e-1,
            2.01365400804030348374776537501e-1,
            4.47106157277725905176885569043e-2,
            0.0,
        ];
        let a = vec![
            vec![],
            vec![5.26001519587677318785587544488e-2],
            vec![
                1.97250569845378994544595329183e-2,
                5.91751709536136983633785987549e-2,
            ],
            vec![
                2.95875854768068491816892993775e-2,
                0.0,
                8.87627564304205475450678981324e-2,
            ],
            vec![
                2.41365134159266685502369798665e-1,
                0.0,
                -8.84549479328286085344864962717e-1,
                9.24834003261792003115737966543e-1,
            ],
            vec![
                3.7037037037037037037037037037e-2,
                0.0,
                0.0,
                1.70828608729473871279604482173e-1,
                1.25467687566822425016691814123e-1,
            ],
            vec![
                3.7109375e-2,
                0.0,
                0.0,
                1.70252211019544039314978060272e-1,
                6.02165389804559606850219397283e-2,
                -1.7578125e-2,
            ],
            vec![
                3.70920001185047927108779319836e-2,
                0.0,
                0.0,
                1.70383925712239993810214054705e-1,
                1.07262030446373284651809199168e-1,
                -1.53194377486244017527936158236e-2,
                8.27378916381402288758473766002e-3,
            ],
            vec![
                6.24110958716075717114429577812e-1,
                0.0,
                0.0,
                -3.36089262944694129406857109825,
                -8.68219346841726006818189891453e-1,
                2.75920996994467083049415600797e1,
                2.01540675504778934086186788979e1,
                -4.34898841810699588477366255144e1,
            ],
            vec![
                4.77662536438264365890433908527e-1,
                0.0,
                0.0,
                -2.48811461997166764192642586468,
                -5.90290826836842996371446475743e-1,
                2.12300514481811942347288949897e1,
                1.52792336328824235832596922938e1,
                -3.32882109689848629194453265587e1,
                -2.03312017085086261358222928593e-2,
            ],
            vec![
                -9.3714243008598732571704021658e-1,
                0.0,
                0.0,
                5.18637242884406370830023853209,
                1.09143734899672957818500254654,
                -8.14978701074692612513997267357,
                -1.85200656599969598641566180701e1,
                2.27394870993505042818970056734e1,
                2.49360555267965238987089396762,
                -3.0467644718982195003823669022,
            ],
            vec![
                2.27331014751653820792359768449,
                0.0,
                0.0,
                -1.05344954667372501984066689879e1,
                -2.00087205822486249909675718444,
                -1.79589318631187989172765950534e1,
                2.79488845294199600508499808837e1,
                -2.85899827713502369474065508674,
                -8.87285693353062954433549289258,
                1.23605671757943030647266201528e1,
                6.43392746015763530355970484046e-1,
            ],
            b[..12].to_vec(),
        ];
        let mut e3 = b.clone();
        e3[0] -= 0.244094488188976377952755905512;
        e3[8] -= 0.733846688281611857341361741547;
        e3[11] -= 0.220588235294117647058823529412e-1;
        let mut e5 = vec![0.0; 13];
        e5[0] = 0.1312004499419488073250102996e-1;
        e5[5] = -0.1225156446376204440720569753e1;
        e5[6] = -0.4957589496572501915214079952;
        e5[7] = 0.1664377182454986536961530415e1;
        e5[8] = -0.3503288487499736816886487290;
        e5[9] = 0.3341791187130174790297318841;
        e5[10] = 0.8192320648511571246570742613e-1;
        e5[11] = -0.2235530786388629525884427845e-1;

        let mut ea = vec![vec![0.0; 13], vec![0.0; 14], vec![0.0; 15]];
        ea[0][0] = 5.61675022830479523392909219681e-2;
        ea[0][6] = 2.53500210216624811088794765333e-1;
        ea[0][7] = -2.46239037470802489917441475441e-1;
        ea[0][8] = -1.24191423263816360469010140626e-1;
        ea[0][9] = 1.5329179827876569731206322685e-1;
        ea[0][10] = 8.20105229563468988491666602057e-3;
        ea[0][11] = 7.56789766054569976138603589584e-3;
        ea[0][12] = -8.298e-3;
        ea[1][0] = 3.18346481635021405060768473261e-2;
        ea[1][5] = 2.83009096723667755288322961402e-2;
        ea[1][6] = 5.35419883074385676223797384372e-2;
        ea[1][7] = -5.49237485713909884646569340306e-2;
        ea[1][10] = -1.08347328697249322858509316994e-4;
        ea[1][11] = 3.82571090835658412954920192323e-4;
        ea[1][12] = -3.40465008687404560802977114492e-4;
        ea[1][13] = 1.41312443674632500278074618366e-1;
        ea[2][0] = -4.28896301583791923408573538692e-1;
        ea[2][5] = -4.69762141536116384314449447206;
        ea[2][6] = 7.68342119606259904184240953878;
        ea[2][7] = 4.06898981839711007970213554331;
        ea[2][8] = 3.56727187455281109270669543021e-1;
        ea[2][12] = -1.39902416515901462129418009734e-3;
        ea[2][13] = 2.9475147891527723389556272149;
        ea[2][14] = -9.15095847217987001081870187138;

        let d = vec![
            vec![
                -0.84289382761090128651353491142e1,
                0.0,
                0.0,
                0.0,
                0.0,
                0.56671495351937776962531783590,
                -0.30689499459498916912797304727e1,
                0.23846676565120698287728149680e1,
                0.21170345824450282767155149946e1,
                -0.87139158377797299206789907490,
                0.22404374302607882758541771650e1,
                0.63157877876946881815570249290,
                -0.88990336451333310820698117400e-1,
                0.18148505520854727256656404962e2,
                -0.91946323924783554000451984436e1,
                -0.44360363875948939664310572000e1,
            ],
            vec![
                0.10427508642579134603413151009e2,
                0.0,
                0.0,
                0.0,
                0.0,
                0.24228349177525818288430175319e3,
                0.16520045171727028198505394887e3,
                -0.37454675472269020279518312152e3,
                -0.22113666853125306036270938578e2,
                0.77334326684722638389603898808e1,
                -0.30674084731089398182061213626e2,
                -0.93321305264302278729567221706e1,
                0.15697238121770843886131091075e2,
                -0.31139403219565177677282850411e2,
                -0.93529243588444783865713862664e1,
                0.35816841486394083752465898540e2,
            ],
            vec![
                0.19985053242002433820987653617e2,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.38703730874935176555105901742e3,
                -0.18917813819516756882830838328e3,
                0.52780815920542364900561016686e3,
                -0.11573902539959630126141871134e2,
                0.68812326946963000169666922661e1,
                -0.10006050966910838403183860980e1,
                0.77771377980534432092869265740,
                -0.27782057523535084065932004339e1,
                -0.60196695231264120758267380846e2,
                0.84320405506677161018159903784e2,
                0.11992291136182789328035130030e2,
            ],
            vec![
                -0.25693933462703749003312586129e2,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.15418974869023643374053993627e3,
                -0.23152937917604549567536039109e3,
                0.35763911791061412378285349910e3,
                0.93405324183624310003907691704e2,
                -0.37458323136451633156875139351e2,
                0.10409964950896230045147246184e3,
                0.29840293426660503123344363579e2,
                -0.43533456590011143754432175058e2,
                0.96324553959188282948394950600e2,
                -0.39177261675615439165231486172e2,
                -0.14972683625798562581422125276e3,
            ],
        ];
        Tableau {
            name: "dop853",
            order: 8,
            controller_order: 7,
            dense_order: 7,
            c,
            a,
            b,
            error: ErrorEstimator::Dop853 { e3, e5 },
            fsal: true,
            dense: DenseOutput::Dop853 {
                c: vec![0.1, 0.2, 7.0 / 9.0],
                a: ea,
                d,
            },
        }
    }

    /// Order of the propagated solution.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Lowercase method name (`"tsit5"`, ...).
    pub fn name(&self) -> &str {
        self.name
    }

    /// `true` when the method has an error estimator (usable with [`crate::solve_adaptive`]).
    pub fn is_adaptive(&self) -> bool {
        !matches!(self.error, ErrorEstimator::None)
    }

    /// Order of the dense-output interpolant (local error `O(h^(q+1))`), 0 when there is none.
    pub fn dense_order(&self) -> usize {
        self.dense_order
    }

    /// `true` when the method can interpolate inside a step.
    pub fn has_dense_output(&self) -> bool {
        !matches!(self.dense, DenseOutput::None)
    }

    /// Number of stages (including an FSAL stage).
    pub fn stages(&self) -> usize {
        self.c.len()
    }

    /// `true` when the last stage is reused as the next step's first stage.
    pub fn is_fsal(&self) -> bool {
        self.fsal
    }

    /// The nodes `c`.
    pub fn c(&self) -> &[f64] {
        &self.c
    }

    /// The coupling rows `a[i][j]`, `j < i`.
    pub fn a(&self) -> &[Vec<f64>] {
        &self.a
    }

    /// The weights `b`.
    pub fn b(&self) -> &[f64] {
        &self.b
    }

    /// The error estimator.
    pub fn error_estimator(&self) -> &ErrorEstimator {
        &self.error
    }

    /// The dense-output data.
    pub fn dense_output(&self) -> &DenseOutput {
        &self.dense
    }
}

/// The built-in methods, by name (in configs: `euler`, `midpoint`, `rk4`,
/// `dopri5`, `tsit5`, `dop853`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum Method {
    /// Forward Euler (order 1, fixed step).
    Euler,
    /// Explicit midpoint (order 2, fixed step).
    Midpoint,
    /// Classical Runge–Kutta (order 4, fixed step).
    Rk4,
    /// Dormand–Prince 5(4), adaptive, dense output.
    Dopri5,
    /// Tsitouras 5(4), adaptive, dense output.
    Tsit5,
    /// DOP853, order 8, adaptive, dense output.
    Dop853,
}

impl Method {
    /// Every method, in order of increasing cost.
    pub const ALL: [Method; 6] = [
        Method::Euler,
        Method::Midpoint,
        Method::Rk4,
        Method::Dopri5,
        Method::Tsit5,
        Method::Dop853,
    ];

    /// The method's tableau.
    pub fn tableau(&self) -> Tableau {
        match self {
            Method::Euler => Tableau::euler(),
            Method::Midpoint => Tableau::midpoint(),
            Method::Rk4 => Tableau::rk4(),
            Method::Dopri5 => Tableau::dopri5(),
            Method::Tsit5 => Tableau::tsit5(),
            Method::Dop853 => Tableau::dop853(),
        }
    }

    /// Whether the method has an embedded error estimate (usable with
    /// adaptive step control).
    pub fn is_adaptive(&self) -> bool {
        matches!(self, Method::Dopri5 | Method::Tsit5 | Method::Dop853)
    }

    /// Lowercase name, as accepted by [`FromStr`].
    pub fn name(&self) -> &'static str {
        match self {
            Method::Euler => "euler",
            Method::Midpoint => "midpoint",
            Method::Rk4 => "rk4",
            Method::Dopri5 => "dopri5",
            Method::Tsit5 => "tsit5",
            Method::Dop853 => "dop853",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown method name.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("unknown ODE method `{0}` (expected one of: euler, midpoint, rk4, dopri5, tsit5, dop853)")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Method::ALL
            .iter()
            .copied()
            .find(|m| m.name() == lower)
            .ok_or_else(|| UnknownMethod(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Tableau> {
        Method::ALL.iter().map(|m| m.tableau()).collect()
    }

    #[test]
    fn row_sums_and_shapes() {
        for t in all() {
            let s = t.stages();
            assert_eq!(t.a.len(), s, "{}", t.name);
            assert_eq!(t.b.len(), s, "{}", t.name);
            for i in 0..s {
                assert_eq!(t.a[i].len(), i, "{} row {i}", t.name);
                let sum: f64 = t.a[i].iter().sum();
                assert!(
                    (sum - t.c[i]).abs() < 1e-13,
                    "{} row {i}: {sum} vs {}",
                    t.name,
                    t.c[i]
                );
            }
            if t.fsal {
                assert_eq!(t.a[s - 1][..], t.b[..s - 1], "{}", t.name);
                assert_eq!(t.c[s - 1], 1.0);
                assert_eq!(t.b[s - 1], 0.0);
            }
        }
    }

    /// Quadrature conditions Σ b_i c_i^(k-1) = 1/k for k ≤ order, and the
    /// order-3/4 tree conditions; embedded weights satisfy them to one order less.
    #[test]
    fn order_conditions() {
        fn check(name: &str, b: &[f64], t: &Tableau, order: usize) {
            for k in 1..=order.min(8) {
                let q: f64 = b
                    .iter()
                    .zip(&t.c)
                    .map(|(bi, ci)| bi * ci.powi(k as i32 - 1))
                    .sum();
                assert!(
                    (q - 1.0 / k as f64).abs() < 1e-12,
                    "{name}: quadrature k={k}: {q}"
                );
            }
            if order >= 3 {
                let mut v = 0.0;
                for i in 0..b.len() {
                    for j in 0..i {
                        v += b[i] * t.a[i][j] * t.c[j];
                    }
                }
                assert!((v - 1.0 / 6.0).abs() < 1e-12, "{name}: b a c = {v}");
            }
            if order >= 4 {
                let mut v = 0.0;
                let mut w = 0.0;
                for i in 0..b.len() {
                    for j in 0..i {
                        v += b[i] * t.a[i][j] * t.c[j] * t.c[j];
                        w += b[i] * t.c[i] * t.a[i][j] * t.c[j];
                    }
                }
                assert!((v - 1.0 / 12.0).abs() < 1e-12, "{name}: b a c^2 = {v}");
                assert!((w - 1.0 / 8.0).abs() < 1e-12, "{name}: b c a c = {w}");
            }
        }
        for t in all() {
            check(t.name, &t.b, &t, t.order);
            match &t.error {
                ErrorEstimator::Embedded { e } => {
                    let bhat: Vec<f64> = t.b.iter().zip(e).map(|(b, e)| b - e).collect();
                    check(
                        &format!("{} embedded", t.name),
                        &bhat,
                        &t,
                        t.controller_order,
                    );
                }
                ErrorEstimator::Dop853 { e3, e5 } => {
                    // Both estimates are b - b_hat for lower-order b_hat: their sums vanish.
                    assert!(e3.iter().sum::<f64>().abs() < 1e-12);
                    assert!(e5.iter().sum::<f64>().abs() < 1e-12);
                }
                ErrorEstimator::None => {}
            }
        }
    }

    #[test]
    fn polynomial_dense_output_matches_b_at_theta_one() {
        for t in all() {
            if let DenseOutput::Polynomial { p } = &t.dense {
                for (i, row) in p.iter().enumerate() {
                    let v: f64 = row.iter().sum();
                    assert!(
                        (v - t.b[i]).abs() < 1e-12,
                        "{} stage {i}: {v} vs {}",
                        t.name,
                        t.b[i]
                    );
                }
            }
            if let DenseOutput::Dop853 { c, a, .. } = &t.dense {
                for (ci, row) in c.iter().zip(a) {
                    assert!(
                        (row.iter().sum::<f64>() - ci).abs() < 1e-12,
                        "{} extra stage",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
            assert_eq!(m.tableau().name(), m.name());
            assert_eq!(m.is_adaptive(), m.tableau().is_adaptive(), "{m}");
        }
        assert_eq!("TSIT5".parse::<Method>().unwrap(), Method::Tsit5);
        assert!("rk45".parse::<Method>().is_err());
        assert!(Method::Tsit5.tableau().is_adaptive());
        assert!(!Method::Rk4.tableau().is_adaptive());
    }
}
